/** The StreamInfo object of create/update/info/list responses, in nats-server 2.10 field order. */
import type { JetStream } from '../jetstream.js';
import type { Stream } from '../stream.js';
import { streamConfigJson } from '../stream-config.js';
import { nowTimeString } from '../time.js';

export interface StreamInfoOptions {
  /** Per-subject message counts to report in `state.subjects`. */
  subjects?: Record<string, number>;
  deletedDetails?: boolean;
  /** 2.10 reports the (single-server) cluster block in info and list, not in create/update. */
  withCluster?: boolean;
}

export function streamInfo(js: JetStream, s: Stream, o: StreamInfoOptions = {}): Record<string, unknown> {
  const info: Record<string, unknown> = {
    config: streamConfigJson(s.config()),
    created: s.createdText,
    state: s.stateJson({ subjects: o.subjects, deletedDetails: o.deletedDetails }),
  };
  if (js.config.domain !== '') info.domain = js.config.domain;
  if (o.withCluster === true) info.cluster = { leader: js.core.name };
  const mirror = s.sources.mirrorInfo();
  if (mirror !== null) info.mirror = mirror;
  const sources = s.sources.sourcesInfo();
  if (sources.length > 0) info.sources = sources;
  info.ts = nowTimeString();
  return info;
}
