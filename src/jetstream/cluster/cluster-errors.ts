/** JetStream API errors only a cluster gives (nats-server's errors.json codes and texts). */
import { JsApiError } from '../api/errors.js';

const e = (code: number, errCode: number, description: string): JsApiError => new JsApiError(code, errCode, description);

/** No meta leader (or no group leader for a request only a leader answers). */
export const clusterNotAvailable = (): JsApiError => e(503, 10008, 'JetStream system temporarily unavailable');
/** Every peer of the stream's group is offline. */
export const streamOffline = (): JsApiError => e(500, 10118, 'stream is offline');
export const clusterPeerNotMember = (): JsApiError => e(400, 10040, 'peer not a member');
export const clusterServerNotMember = (): JsApiError => e(400, 10044, 'server is not a member of the cluster');
export const peerRemapFailed = (): JsApiError => e(503, 10075, 'peer remap failed');
/** Placement found too few servers (nats-server adds its reasons; this server's own placement does, see placement.ts). */
export const noSuitablePeers = (): JsApiError => e(400, 10005, 'no suitable peers for placement');
