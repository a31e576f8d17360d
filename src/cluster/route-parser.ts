/**
 * The route protocol parser: INFO, CONNECT, PING, PONG, +OK, -ERR, RS+/RS-,
 * LS+/LS- (leaf-origin interest), RMSG, HMSG, LMSG and A+/A-, as
 * nats-server's parser accepts them on a route connection. The state
 * machine and the argument forms are the peer protocols' shared core
 * (protocol/peer-parser.ts); this file maps the route ops onto them:
 *
 *     RS+ <account> <subject> [<queue> <weight>]     RS- <account> <subject> [<queue>]
 *     LS+ <origin> <account> <subject> [<queue> <weight>]
 *     RMSG <account> <subject> [reply/queue section] <size>
 *     HMSG <account> <subject> [reply/queue section] <hdr size> <size>
 *     LMSG <origin> <account> <subject> [reply/queue section] <hdr size> <size>
 */
import { PeerOp, PeerParser, SHARED_KEYWORDS, type PeerKeyword, type PeerOpHandler } from '../protocol/peer-parser.js';

/** What a route connection does with each operation. */
export interface RouteOpHandler extends PeerOpHandler {
  /** RS+ / LS+: interest of the peer; `weight` is the queue group's member count there. */
  processSub(account: string, subject: string, queue: string | null, weight: number): void;
  /** RS- / LS-: the peer lost interest. */
  processUnsub(account: string, subject: string, queue: string | null): void;
  /**
   * RMSG / HMSG / LMSG. `queues` are the queue groups this server is asked
   * to serve; hdrLen is -1 without headers. buf[start..end) is valid only
   * during the call.
   */
  processMsg(account: string, subject: string, reply: string | null, queues: readonly string[], hdrLen: number, buf: Buffer, start: number, end: number): void;
}

const enum Op {
  RSub = PeerOp.Own,
  RUnsub,
  LSub,
  LUnsub,
  RMsg,
  HMsg,
  LMsg,
  ASub,
  AUnsub,
}

/** Keywords, the busiest first. */
const KEYWORDS: readonly PeerKeyword[] = [
  ['RMSG', Op.RMsg],
  ['RS+', Op.RSub],
  ['RS-', Op.RUnsub],
  ['HMSG', Op.HMsg],
  ['LMSG', Op.LMsg],
  ['LS+', Op.LSub],
  ['LS-', Op.LUnsub],
  ...SHARED_KEYWORDS,
  ['A+', Op.ASub],
  ['A-', Op.AUnsub],
];

const NO_QUEUES: readonly string[] = Object.freeze([]);

export class RouteParser extends PeerParser {
  private readonly h: RouteOpHandler;

  constructor(handler: RouteOpHandler) {
    super(handler, KEYWORDS, { unknownOp: 'Router parser ERROR', msgArgsAsSlice: false });
    this.h = handler;
  }

  protected deliver(buf: Buffer, start: number, end: number): void {
    if (this.tracing) this.h.tracePayload(buf, start, end);
    this.h.processMsg(this.pendAccount, this.pendSubject, this.pendReply, this.pendQueues ?? NO_QUEUES, this.pendHdr, buf, start, end);
  }

  protected processOwn(op: number, buf: Buffer, argPos: number, end: number): number {
    switch (op as Op) {
      case Op.RMsg:
        return this.msgArgs(buf, argPos, end, 1, false, 'processRoutedMsgArgs');
      case Op.HMsg:
        return this.msgArgs(buf, argPos, end, 1, true, 'processRoutedHeaderMsgArgs');
      case Op.LMsg:
        return this.msgArgs(buf, argPos, end, 2, true, 'processRoutedOriginClusterMsgArgs');
      case Op.RSub:
        this.sub(buf, argPos, end, 1);
        return -1;
      case Op.LSub:
        this.sub(buf, argPos, end, 2);
        return -1;
      case Op.RUnsub:
      case Op.LUnsub:
        if (this.interestArgs(buf, argPos, end, 1, false, 'processRemoteUnsub parse error')) {
          this.h.processUnsub(this.token(buf, 0), this.subject, this.queue);
        }
        return -1;
      case Op.ASub:
      case Op.AUnsub:
        // Account interest is a gateway matter; nats-server ignores it on routes.
        return -1;
    }
  }

  /** RS+ (the account leads) or LS+ (the origin cluster, then the account). */
  private sub(buf: Buffer, start: number, end: number, lead: number): void {
    if (!this.interestArgs(buf, start, end, lead, true, 'processRemoteSub Parse Error')) return;
    this.h.processSub(this.token(buf, lead - 1), this.subject, this.queue, this.weight);
  }
}
