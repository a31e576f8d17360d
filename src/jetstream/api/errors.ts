/**
 * JetStream API errors: `{ code, err_code, description }` exactly as
 * nats-server's errors.json defines them (code is the HTTP-like status,
 * err_code the JetStream error code clients switch on). Each API family adds
 * the constructors it needs here, named after nats-server's identifiers
 * (JSStreamNotFoundErr → streamNotFound) so they are easy to check against
 * the source of truth.
 */
import type { ApiErrorJson } from '../types.js';

export class JsApiError extends Error {
  readonly code: number;
  readonly errCode: number;

  constructor(code: number, errCode: number, description: string) {
    super(description);
    this.code = code;
    this.errCode = errCode;
  }

  toJSON(): ApiErrorJson {
    return { code: this.code, err_code: this.errCode, description: this.message };
  }
}

const e = (code: number, errCode: number, description: string): JsApiError => new JsApiError(code, errCode, description);

export const notEnabledForAccount = (): JsApiError => e(503, 10039, 'JetStream not enabled for account');
export const notEnabled = (): JsApiError => e(503, 10076, 'JetStream not enabled');
export const badRequest = (): JsApiError => e(400, 10003, 'bad request');
export const invalidJson = (detail: string): JsApiError => e(400, 10025, detail === '' ? 'invalid JSON' : `invalid JSON: ${detail}`);
export const streamNotFound = (): JsApiError => e(404, 10059, 'stream not found');
export const consumerNotFound = (): JsApiError => e(404, 10014, 'consumer not found');

// ---- streams and the publish path (nats-server errors.json) ----------------
export const streamInvalidConfig = (detail: string): JsApiError => e(500, 10052, detail);
export const streamNameExist = (): JsApiError => e(400, 10058, 'stream name already in use with a different configuration');
export const streamSubjectOverlap = (): JsApiError => e(400, 10065, 'subjects overlap with an existing stream');
export const streamMismatch = (): JsApiError => e(400, 10056, 'stream name in subject does not match request');
export const streamReplicasNotSupported = (): JsApiError => e(500, 10074, 'replicas > 1 not supported in non-clustered mode');
export const replicasCountCannotBeNegative = (): JsApiError => e(400, 10133, 'replicas count cannot be negative');
export const streamMirrorNotUpdatable = (): JsApiError => e(400, 10055, 'stream mirror configuration can not be updated');
export const streamNameContainsPathSeparators = (): JsApiError => e(400, 10128, 'Stream name can not contain path separators');
export const streamGeneral = (detail: string): JsApiError => e(500, 10051, detail);
export const streamSealed = (): JsApiError => e(400, 10109, 'invalid operation on sealed stream');
export const streamPurgeFailed = (detail: string): JsApiError => e(500, 10110, detail);
export const streamRollupFailed = (detail: string): JsApiError => e(500, 10111, detail);
export const streamMsgDeleteFailed = (detail: string): JsApiError => e(500, 10057, detail);
export const streamStoreFailed = (detail: string): JsApiError => e(503, 10077, detail);
export const streamNotMatch = (): JsApiError => e(400, 10060, 'expected stream does not match');
export const streamWrongLastSequence = (seq: number): JsApiError => e(400, 10071, `wrong last sequence: ${seq}`);
export const streamWrongLastMsgId = (id: string): JsApiError => e(400, 10070, `wrong last msg ID: ${id}`);
export const streamMessageExceedsMaximum = (): JsApiError => e(400, 10054, 'message size exceeds maximum allowed');
export const streamHeaderExceedsMaximum = (): JsApiError => e(400, 10097, 'header size exceeds maximum allowed of 64k');
export const streamSnapshot = (detail: string): JsApiError => e(500, 10064, `snapshot failed: ${detail}`);
export const streamRestore = (detail: string): JsApiError => e(500, 10062, `restore failed: ${detail}`);
export const streamNameExistRestoreFailed = (): JsApiError => e(400, 10130, 'stream name already in use, cannot restore');
export const snapshotDeliverSubjectInvalid = (): JsApiError => e(400, 10015, 'deliver subject not valid');
export const streamTransformInvalidSource = (detail: string): JsApiError => e(400, 10155, `stream transform source: ${detail}`);
export const streamTransformInvalidDestination = (detail: string): JsApiError => e(400, 10156, `stream transform: ${detail}`);
export const messageTtlInvalid = (): JsApiError => e(400, 10165, 'invalid per-message TTL');
export const messageTtlDisabled = (): JsApiError => e(400, 10166, 'per-message TTL is disabled');
export const noMessageFound = (): JsApiError => e(404, 10037, 'no message found');
export const maximumStreamsLimit = (): JsApiError => e(400, 10027, 'maximum number of streams reached');
export const accountResourcesExceeded = (): JsApiError => e(400, 10002, 'resource limits exceeded for account');
export const insufficientResources = (): JsApiError => e(503, 10023, 'insufficient resources');
export const memoryResourcesExceeded = (): JsApiError => e(500, 10028, 'insufficient memory resources available');
export const storageResourcesExceeded = (): JsApiError => e(500, 10047, 'insufficient storage resources available');
export const streamMaxBytesRequired = (): JsApiError => e(400, 10113, 'account requires a stream config to have max bytes set');
export const streamMaxStreamBytesExceeded = (): JsApiError => e(400, 10122, 'stream max bytes exceeds account limit max stream bytes');
export const mirrorWithSubjects = (): JsApiError => e(400, 10034, 'stream mirrors can not contain subjects');
export const mirrorWithSources = (): JsApiError => e(400, 10031, 'stream mirrors can not also contain other sources');
export const mirrorWithStartSeqAndTime = (): JsApiError => e(400, 10032, 'stream mirrors can not have both start seq and start time configured');
export const mirrorWithFirstSeq = (): JsApiError => e(400, 10143, 'stream mirrors can not have first sequence configured');
export const mirrorWithCounters = (): JsApiError => e(400, 10173, 'stream mirrors can not also calculate counters');
export const messageIncrDisabled = (): JsApiError => e(400, 10168, 'message counters is disabled');
export const messageIncrMissing = (): JsApiError => e(400, 10169, 'message counter increment is missing');
export const messageIncrPayload = (): JsApiError => e(400, 10170, 'message counter has payload');
export const messageIncrInvalid = (): JsApiError => e(400, 10171, 'message counter increment is invalid');
export const messageCounterBroken = (): JsApiError => e(400, 10172, 'message counter is broken');
export const mirrorInvalidStreamName = (): JsApiError => e(400, 10142, 'mirrored stream name is invalid');
export const mirrorMaxMessageSizeTooBig = (): JsApiError => e(400, 10030, 'stream mirror must have max message size >= source');
export const mirrorMultipleFiltersNotAllowed = (): JsApiError => e(400, 10150, 'mirror with multiple subject transforms cannot also have a single subject filter');
export const sourceInvalidStreamName = (): JsApiError => e(400, 10141, 'sourced stream name is invalid');
export const sourceDuplicateDetected = (): JsApiError => e(400, 10140, 'duplicate source configuration detected');
export const sourceMaxMessageSizeTooBig = (): JsApiError => e(400, 10046, 'stream source must have max message size >= target');
export const sourceMultipleFiltersNotAllowed = (): JsApiError => e(400, 10144, 'source with multiple subject transforms cannot also have a single subject filter');
export const clusterRequired = (): JsApiError => e(503, 10010, 'JetStream clustering support required');
export const sequenceNotFound = (seq: number): JsApiError => e(400, 10043, `sequence ${seq} not found`);
export const streamCreate = (detail: string): JsApiError => e(500, 10049, detail);
export const notEmptyRequest = (): JsApiError => e(400, 10038, 'expected an empty request payload');
