/**
 * The JetStream publish headers (ADR-8 / nats-server's `Nats-…` set) read
 * from a raw NATS/1.0 header block in one pass, only when a message has
 * headers. Names are matched case-sensitively, as nats-server does.
 */
import { HDR_TTL } from './store/msg-ttl.js';

export const HDR_MSG_ID = 'Nats-Msg-Id';
export const HDR_EXPECTED_STREAM = 'Nats-Expected-Stream';
export const HDR_EXPECTED_LAST_SEQ = 'Nats-Expected-Last-Sequence';
export const HDR_EXPECTED_LAST_SUBJ_SEQ = 'Nats-Expected-Last-Subject-Sequence';
/** nats-server 2.11: the subject (wildcards allowed) Nats-Expected-Last-Subject-Sequence is about, instead of the message's. */
export const HDR_EXPECTED_LAST_SUBJ_SEQ_SUBJECT = 'Nats-Expected-Last-Subject-Sequence-Subject';
export const HDR_EXPECTED_LAST_MSG_ID = 'Nats-Expected-Last-Msg-Id';
export const HDR_ROLLUP = 'Nats-Rollup';

/** What a publish asks of the stream through its headers; null = header absent. */
export interface PublishHeaders {
  msgId: string | null;
  expectedStream: string | null;
  /** Expected sequences: null when absent or not an unsigned integer (nats-server ignores those). */
  expectedLastSeq: number | null;
  expectedLastSubjSeq: number | null;
  expectedLastSubjSeqSubject: string | null;
  expectedLastMsgId: string | null;
  rollup: string | null;
  /** The Nats-TTL value as sent (checked by the stream). */
  ttl: string | null;
}

const CR = 13;
const LF = 10;
const COLON = 58;

/**
 * Reads the JetStream headers of `msg[0, hdrLen)`. Only lines starting with
 * "Nats-" are decoded, so ordinary application headers cost one byte test.
 */
export function readPublishHeaders(msg: Buffer, hdrLen: number): PublishHeaders {
  const out: PublishHeaders = {
    msgId: null, expectedStream: null, expectedLastSeq: null, expectedLastSubjSeq: null, expectedLastSubjSeqSubject: null, expectedLastMsgId: null, rollup: null, ttl: null,
  };
  // Skip the status line.
  let i = msg.indexOf(LF, 0);
  if (i < 0 || i >= hdrLen) return out;
  i++;
  while (i < hdrLen) {
    let eol = msg.indexOf(LF, i);
    if (eol < 0 || eol > hdrLen) eol = hdrLen;
    const lineEnd = eol > i && msg[eol - 1] === CR ? eol - 1 : eol;
    // N a t s -
    if (lineEnd - i > 5 && msg[i] === 78 && msg[i + 1] === 97 && msg[i + 2] === 116 && msg[i + 3] === 115 && msg[i + 4] === 45) {
      const colon = msg.indexOf(COLON, i);
      if (colon > 0 && colon < lineEnd) {
        const key = msg.latin1Slice(i, colon);
        const value = msg.toString('utf8', colon + 1, lineEnd).trim();
        assign(out, key, value);
      }
    }
    i = eol + 1;
  }
  return out;
}

function assign(out: PublishHeaders, key: string, value: string): void {
  switch (key) {
    case HDR_MSG_ID:
      if (value !== '') out.msgId = value;
      break;
    case HDR_EXPECTED_STREAM:
      if (value !== '') out.expectedStream = value;
      break;
    case HDR_EXPECTED_LAST_SEQ:
      out.expectedLastSeq = parseSeq(value);
      break;
    case HDR_EXPECTED_LAST_SUBJ_SEQ:
      out.expectedLastSubjSeq = parseSeq(value);
      break;
    case HDR_EXPECTED_LAST_SUBJ_SEQ_SUBJECT:
      if (value !== '') out.expectedLastSubjSeqSubject = value;
      break;
    case HDR_EXPECTED_LAST_MSG_ID:
      if (value !== '') out.expectedLastMsgId = value;
      break;
    case HDR_ROLLUP:
      if (value !== '') out.rollup = value;
      break;
    case HDR_TTL:
      out.ttl = value;
      break;
    default:
      break;
  }
}

/** nats-server ignores an expected-sequence header whose value is not an unsigned integer. */
function parseSeq(v: string): number | null {
  return /^\d+$/.test(v) ? Number(v) : null;
}

/** The value of header `name` in a stored header block, or null. */
export function headerValue(hdr: Buffer, name: string): string | null {
  const text = hdr.toString('latin1');
  const lines = text.split('\r\n');
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k];
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon) === name) return line.slice(colon + 1).trim();
  }
  return null;
}
