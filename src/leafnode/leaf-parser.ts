/**
 * The leafnode protocol parser: INFO, CONNECT, PING, PONG, +OK, -ERR,
 * LS+/LS- and LMSG/HMSG, as nats-server's parser accepts them on a leaf
 * connection. A leaf connection is bound to one account on each side, so
 * unlike the route forms these carry no account:
 *
 *     LS+ <subject> [<queue> <weight>]      LS- <subject> [<queue>]
 *     LMSG <subject> [<reply> | + <reply> <q>... | \| <q>...] <size>
 *     HMSG <subject> [same reply/queue section] <hdr size> <size>
 *
 * The state machine and the argument forms are the peer protocols' shared
 * core (protocol/peer-parser.ts); this file maps the leaf ops onto them.
 */
import { PeerOp, PeerParser, SHARED_KEYWORDS, type PeerKeyword, type PeerOpHandler } from '../protocol/peer-parser.js';

/** What a leaf connection does with each operation. */
export interface LeafOpHandler extends PeerOpHandler {
  /** LS+: interest of the other side; `weight` is the queue group's member count there (0 for plain). */
  processSub(subject: string, queue: string | null, weight: number): void;
  processUnsub(subject: string, queue: string | null): void;
  /**
   * LMSG / HMSG. `queues` names the queue groups the sender picked this
   * side for; null when the message carries no queue section. hdrLen is
   * -1 without headers; buf[start..end) is valid only during the call.
   */
  processMsg(subject: string, reply: string | null, queues: readonly string[] | null, hdrLen: number, buf: Buffer, start: number, end: number): void;
}

const enum Op {
  LSub = PeerOp.Own,
  LUnsub,
  LMsg,
  HMsg,
}

const KEYWORDS: readonly PeerKeyword[] = [
  ['LMSG', Op.LMsg],
  ['LS+', Op.LSub],
  ['LS-', Op.LUnsub],
  ['HMSG', Op.HMsg],
  ...SHARED_KEYWORDS,
];

export class LeafParser extends PeerParser {
  private readonly h: LeafOpHandler;

  constructor(handler: LeafOpHandler) {
    super(handler, KEYWORDS, { unknownOp: 'Leafnode parser ERROR', msgArgsAsSlice: true });
    this.h = handler;
  }

  protected deliver(buf: Buffer, start: number, end: number): void {
    if (this.tracing) this.h.tracePayload(buf, start, end);
    this.h.processMsg(this.pendSubject, this.pendReply, this.pendQueues, this.pendHdr, buf, start, end);
  }

  protected processOwn(op: number, buf: Buffer, argPos: number, end: number): number {
    switch (op as Op) {
      case Op.LMsg:
        return this.msgArgs(buf, argPos, end, 0, false, 'processLeafMsgArgs');
      case Op.HMsg:
        return this.msgArgs(buf, argPos, end, 0, true, 'processLeafHeaderMsgArgs');
      case Op.LSub:
        if (this.interestArgs(buf, argPos, end, 0, true, 'processLeafSub Parse Error')) this.h.processSub(this.subject, this.queue, this.weight);
        return -1;
      case Op.LUnsub:
        if (this.interestArgs(buf, argPos, end, 0, false, 'processLeafUnsub Parse Error')) this.h.processUnsub(this.subject, this.queue);
        return -1;
    }
  }
}
