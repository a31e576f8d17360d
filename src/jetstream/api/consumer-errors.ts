/**
 * Consumer API errors with nats-server's codes and texts (errors.json); the
 * names follow nats-server's identifiers (JSConsumerNameExistErr →
 * consumerNameExist) so each can be checked against the source of truth.
 */
import { JsApiError } from './errors.js';

const e = (code: number, errCode: number, description: string): JsApiError => new JsApiError(code, errCode, description);

export const consumerConfigRequired = (): JsApiError => e(400, 10078, 'consumer config required');
export const consumerCreate = (detail: string): JsApiError => e(500, 10012, detail);
export const consumerInvalidPriorityGroup = (): JsApiError => e(400, 10160, 'Provided priority group does not exist for this consumer');
export const consumerNameExist = (): JsApiError => e(400, 10013, 'consumer name already in use');
export const consumerDurableNameNotInSubject = (): JsApiError => e(400, 10016, 'consumer expected to be durable but no durable name set in subject');
export const consumerDurableNameNotMatchSubject = (): JsApiError => e(400, 10017, 'consumer name in subject does not match durable name in request');
export const consumerDurableNameNotSet = (): JsApiError => e(400, 10018, 'consumer expected to be durable but a durable name was not set');
export const consumerEphemeralWithDurableName = (): JsApiError => e(400, 10020, 'consumer expected to be ephemeral but a durable name was set in request');
export const maximumConsumersLimit = (): JsApiError => e(400, 10026, 'maximum consumers limit reached');
export const streamMismatch = (): JsApiError => e(400, 10056, 'stream name in subject does not match request');
export const streamReplicasNotSupported = (): JsApiError => e(500, 10074, 'replicas > 1 not supported in non-clustered mode');
export const replicasCountCannotBeNegative = (): JsApiError => e(400, 10133, 'replicas count cannot be negative');
export const streamInvalid = (): JsApiError => e(500, 10096, 'stream not valid');
export const streamInvalidConfig = (detail: string): JsApiError => e(500, 10052, detail);
export const clusterRequired = (): JsApiError => e(503, 10010, 'JetStream clustering support required');
export const consumerDeliverToWildcards = (): JsApiError => e(400, 10079, 'consumer deliver subject has wildcards');
export const consumerPushMaxWaiting = (): JsApiError => e(400, 10080, 'consumer in push mode can not set max waiting');
export const consumerDeliverCycle = (): JsApiError => e(400, 10081, 'consumer deliver subject forms a cycle');
export const consumerMaxPendingAckPolicyRequired = (): JsApiError => e(400, 10082, 'consumer requires ack policy for max ack pending');
export const consumerSmallHeartbeat = (): JsApiError => e(400, 10083, 'consumer idle heartbeat needs to be >= 100ms');
export const consumerPullRequiresAck = (): JsApiError => e(400, 10084, 'consumer in pull mode requires explicit ack policy on workqueue stream');
export const consumerPullWithRateLimit = (): JsApiError => e(400, 10086, 'consumer in pull mode can not have rate limit set');
export const consumerMaxWaitingNegative = (): JsApiError => e(400, 10087, 'consumer max waiting needs to be positive');
export const consumerHbRequiresPush = (): JsApiError => e(400, 10088, 'consumer idle heartbeat requires a push based consumer');
export const consumerFcRequiresPush = (): JsApiError => e(400, 10089, 'consumer flow control requires a push based consumer');
export const consumerInvalidPolicy = (detail: string): JsApiError => e(400, 10094, detail);
export const consumerInvalidSampling = (detail: string): JsApiError => e(400, 10095, `failed to parse consumer sampling configuration: ${detail}`);
export const consumerWqRequiresExplicitAck = (): JsApiError => e(400, 10098, 'workqueue stream requires explicit ack');
export const consumerWqMultipleUnfiltered = (): JsApiError => e(400, 10099, 'multiple non-filtered consumers not allowed on workqueue stream');
export const consumerWqConsumerNotUnique = (): JsApiError => e(400, 10100, 'filtered consumer not unique on workqueue stream');
export const consumerWqConsumerNotDeliverAll = (): JsApiError => e(400, 10101, 'consumer must be deliver all on workqueue stream');
export const consumerNameTooLong = (max: number): JsApiError => e(400, 10102, `consumer name is too long, maximum allowed is ${max}`);
export const consumerBadDurableName = (): JsApiError => e(400, 10103, "durable name can not contain '.', '*', '>'");
export const consumerDescriptionTooLong = (max: number): JsApiError => e(400, 10107, `consumer description is too long, maximum allowed is ${max}`);
export const consumerWithFlowControlNeedsHeartbeats = (): JsApiError => e(400, 10108, 'consumer with flow control also needs heartbeats');
export const consumerInvalidDeliverSubject = (): JsApiError => e(400, 10112, 'invalid push consumer deliver subject');
export const consumerMaxRequestBatchNegative = (): JsApiError => e(400, 10114, 'consumer max request batch needs to be > 0');
export const consumerMaxRequestExpiresTooSmall = (): JsApiError => e(400, 10115, 'consumer max request expires needs to be >= 1ms');
export const consumerMaxDeliverBackoff = (): JsApiError => e(400, 10116, 'max deliver is required to be > length of backoff values');
export const consumerMaxPendingAckExcess = (limit: number): JsApiError => e(400, 10121, `consumer max ack pending exceeds system limit of ${limit}`);
export const consumerReplicasExceedsStream = (): JsApiError => e(400, 10126, 'consumer config replica count exceeds parent stream');
export const consumerNameContainsPathSeparators = (): JsApiError => e(400, 10127, 'Consumer name can not contain path separators');
export const consumerCreateFilterSubjectMismatch = (): JsApiError => e(400, 10131, 'Consumer create request did not match filtered subject from create subject');
export const consumerCreateDurableAndNameMismatch = (): JsApiError => e(400, 10132, 'Consumer Durable and Name have to be equal if both are provided');
export const consumerReplicasShouldMatchStream = (): JsApiError => e(400, 10134, "consumer config replicas must match interest retention stream's replicas");
export const consumerMetadataLength = (limit: string): JsApiError => e(400, 10135, `consumer metadata exceeds maximum size of ${limit}`);
export const consumerDuplicateFilterSubjects = (): JsApiError => e(400, 10136, 'consumer cannot have both FilterSubject and FilterSubjects specified');
export const consumerMultipleFiltersNotAllowed = (): JsApiError => e(400, 10137, 'consumer with multiple subject filters cannot use subject based API');
export const consumerOverlappingSubjectFilters = (): JsApiError => e(400, 10138, 'consumer subject filters cannot overlap');
export const consumerEmptyFilter = (): JsApiError => e(400, 10139, 'consumer filter in FilterSubjects cannot be empty');
export const consumerAlreadyExists = (): JsApiError => e(400, 10148, 'consumer already exists');
export const consumerDoesNotExist = (): JsApiError => e(400, 10149, 'consumer does not exist');
export const consumerInactiveThresholdExcess = (limit: number): JsApiError => e(400, 10153, `consumer inactive threshold exceeds system limit of ${limit}`);
export const consumerAckWaitNegative = (): JsApiError => e(400, 10183, 'consumer ack wait needs to be positive');
export const consumerBackOffNegative = (): JsApiError => e(400, 10184, 'consumer backoff needs to be positive');
