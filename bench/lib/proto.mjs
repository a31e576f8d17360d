// Minimal raw NATS client-protocol pieces for the load generator.
// No library: a net.Socket, pre-built frames and a byte scanner.
import net from 'node:net';

export const CRLF = '\r\n';
export const PING = Buffer.from('PING\r\n');
export const PONG = Buffer.from('PONG\r\n');
export const CONNECT_OPTS = {
  verbose: false,
  pedantic: false,
  headers: true,
  no_responders: true,
  protocol: 1,
};

const CH_LF = 10;
const CH_SP = 32;
const CH_H = 72; // HMSG
const CH_I = 73; // INFO / (P)I(NG)
const CH_M = 77; // MSG
const CH_P = 80; // PING / PONG
const CH_PLUS = 43; // +OK
const CH_MINUS = 45; // -ERR

// Latency samples in flow scenarios: a sampled message carries, in the last
// STAMP_LEN bytes of its payload, STAMP_MARK and the publisher's process.hrtime
// (8 bytes big-endian). Filler payload bytes are letters, so the mark is unambiguous.
export const STAMP_LEN = 9;
export const STAMP_MARK = 1;

/** Stamps the payload that ends at buf[payloadEnd] with the current time. */
export function writeStamp(buf, payloadEnd) {
  buf[payloadEnd - STAMP_LEN] = STAMP_MARK;
  buf.writeBigUInt64BE(process.hrtime.bigint(), payloadEnd - STAMP_LEN + 1);
}

/** Monotonic clock in nanoseconds as a Number (shared by all threads of the process). */
export function nowNs() {
  return Number(process.hrtime.bigint());
}

/**
 * Scans the server->client byte stream.
 *
 * Count mode (no onMsg): every MSG/HMSG frame increments a counter; the payload is
 * skipped by its declared size without being looked at, so a chunk of small messages
 * costs one indexOf('\n') plus a few digit reads per frame.
 *
 * Handler mode (onMsg set): onMsg(buf, lineStart, lineEnd, payloadStart, payloadEnd, hdrLen)
 * is called once the whole frame is in one buffer. lineEnd is the index of the '\r'.
 * For HMSG, hdrLen is the header block length (payloadStart..payloadStart+hdrLen are headers).
 *
 * onStamp(buf, offset) (either mode) is called for each stamped payload (see writeStamp):
 * offset is where its 8-byte time starts, called when the stamp's last byte has arrived
 * (in count mode the frame's payload may span several reads).
 */
export class Parser {
  constructor(sock, { onMsg = null, onCount = null, onPong = null, onInfo = null, onErr = null, onStamp = null } = {}) {
    this.sock = sock;
    this.onMsg = onMsg;
    this.onStamp = onStamp;
    // offset, in the bytes still to be skipped, of the stamp of a frame split across reads (-1: none)
    this.stampOff = -1;
    // the first bytes of a stamp split between two reads (its rest starts the next read)
    this.stampHave = null;
    this.onCount = onCount;
    this.onPong = onPong;
    this.onInfo = onInfo;
    this.onErr = onErr;
    this.msgs = 0;
    this.pongs = 0;
    this.info = null;
    this.errors = [];
    this.skip = 0;
    this.partial = null;
  }

  push(chunk) {
    let pos = 0;
    let len = chunk.length;
    if (this.skip > 0) {
      if (this.stampOff >= 0) this._carriedStamp(chunk, len);
      if (this.skip >= len) {
        this.skip -= len;
        return;
      }
      pos = this.skip;
      this.skip = 0;
    }
    let n = 0;
    if (this.partial !== null) {
      if (this.onMsg !== null) {
        chunk = Buffer.concat([this.partial, chunk.subarray(pos)]);
        this.partial = null;
        pos = 0;
        len = chunk.length;
      } else {
        // Only the frame's header line is glued together; the rest of the chunk is
        // scanned in place.
        const eol = chunk.indexOf(CH_LF, pos);
        if (eol < 0) {
          this.partial = Buffer.concat([this.partial, chunk.subarray(pos)]);
          return;
        }
        const line = Buffer.concat([this.partial, chunk.subarray(pos, eol + 1)]);
        this.partial = null;
        const c = line[0];
        if (c === CH_M || c === CH_H) {
          n++;
          pos = eol + 3 + lastNumber(line, line.length - 1);
          if (this.onStamp !== null) this._stampAt(chunk, pos - 2 - STAMP_LEN, len);
          if (pos > len) {
            this.skip = pos - len;
            this._counted(n);
            return;
          }
        } else {
          this._control(line, 0, line.length - 1);
          pos = eol + 1;
        }
      }
    }
    const onMsg = this.onMsg;
    const onStamp = this.onStamp;
    while (pos < len) {
      const eol = chunk.indexOf(CH_LF, pos);
      if (eol < 0) break;
      const c = chunk[pos];
      if (c === CH_M || c === CH_H) {
        if (onMsg === null) {
          // fast path: the last token of the line is the (total) size
          let i = eol - 2;
          let size = 0;
          let mul = 1;
          let d;
          while ((d = chunk[i]) !== CH_SP) {
            size += (d - 48) * mul;
            mul *= 10;
            i--;
          }
          n++;
          pos = eol + 3 + size;
          if (onStamp !== null) {
            const at = pos - 2 - STAMP_LEN;
            if (at + STAMP_LEN <= len) {
              if (chunk[at] === STAMP_MARK) onStamp(chunk, at + 1);
            } else this._stampAt(chunk, at, len); // this frame ends the chunk
          }
          continue;
        }
        let i = eol - 2;
        let size = 0;
        let mul = 1;
        let d;
        while ((d = chunk[i]) !== CH_SP) {
          size += (d - 48) * mul;
          mul *= 10;
          i--;
        }
        let hdr = 0;
        if (c === CH_H) {
          i--;
          mul = 1;
          while ((d = chunk[i]) !== CH_SP) {
            hdr += (d - 48) * mul;
            mul *= 10;
            i--;
          }
        }
        const pStart = eol + 1;
        const pEnd = pStart + size;
        if (pEnd + 2 > len) break; // frame incomplete: keep it for the next chunk
        n++;
        onMsg(chunk, pos, eol - 1, pStart, pEnd, hdr);
        if (onStamp !== null && size >= STAMP_LEN && chunk[pEnd - STAMP_LEN] === STAMP_MARK) onStamp(chunk, pEnd - STAMP_LEN + 1);
        pos = pEnd + 2;
        continue;
      }
      this._control(chunk, pos, eol);
      pos = eol + 1;
    }
    if (pos > len) this.skip = pos - len;
    else if (pos < len) this.partial = chunk.subarray(pos);
    this._counted(n);
  }

  /** Checks the stamp position `at` of a frame (relative to chunk; it may lie beyond the chunk's end). */
  _stampAt(chunk, at, len) {
    if (at + STAMP_LEN <= len) {
      if (chunk[at] === STAMP_MARK) this.onStamp(chunk, at + 1);
    } else if (at >= len) {
      this.stampOff = at - len; // in a later read
    } else if (chunk[at] === STAMP_MARK) {
      this.stampHave = Buffer.from(chunk.subarray(at, len)); // split: the rest starts the next read
      this.stampOff = 0;
    }
  }

  /** At the start of a read that continues a split frame: the stamp noted by _stampAt. */
  _carriedStamp(chunk, len) {
    if (this.stampHave !== null) {
      const have = Buffer.concat([this.stampHave, chunk.subarray(0, Math.min(len, STAMP_LEN - this.stampHave.length))]);
      if (have.length < STAMP_LEN) {
        this.stampHave = have;
        return;
      }
      this.stampHave = null;
      this.stampOff = -1;
      this.onStamp(have, 1);
      return;
    }
    const off = this.stampOff;
    this.stampOff = -1;
    this._stampAt(chunk, off, len);
  }

  _counted(n) {
    if (n > 0) {
      this.msgs += n;
      if (this.onCount !== null) this.onCount(n);
    }
  }

  _control(buf, pos, eol) {
    const c = buf[pos];
    if (c === CH_P) {
      if (buf[pos + 1] === CH_I) {
        this.sock.write(PONG);
      } else {
        this.pongs++;
        if (this.onPong !== null) this.onPong();
      }
    } else if (c === CH_I) {
      try {
        this.info = JSON.parse(buf.toString('utf8', pos + 5, eol).trim());
      } catch {
        this.info = {};
      }
      if (this.onInfo !== null) this.onInfo(this.info);
    } else if (c === CH_PLUS) {
      // +OK (verbose is off, but tolerate it)
    } else if (c === CH_MINUS) {
      const text = buf.toString('latin1', pos, eol).trim();
      if (this.errors.length < 20) this.errors.push(text);
      if (this.onErr !== null) this.onErr(text);
    } else {
      const text = 'unexpected from server: ' + JSON.stringify(buf.toString('latin1', pos, Math.min(eol, pos + 60)));
      if (this.errors.length < 20) this.errors.push(text);
      if (this.onErr !== null) this.onErr(text);
    }
  }
}

function lastNumber(buf, eol) {
  let i = eol - 2;
  let size = 0;
  let mul = 1;
  let d;
  while ((d = buf[i]) !== CH_SP) {
    size += (d - 48) * mul;
    mul *= 10;
    i--;
  }
  return size;
}

/** Splits a MSG/HMSG header line (without \r\n) into tokens. */
export function lineTokens(buf, start, end) {
  return buf.toString('latin1', start, end).split(' ');
}

/**
 * Connects, reads INFO, sends CONNECT + PING and resolves on the first PONG.
 * Returns { sock, parser, info }. parserOpts are passed to the Parser (handlers can be
 * changed later on the returned parser).
 */
export function connect(port, { host = '127.0.0.1', name = 'natter-bench', parserOpts = {}, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    sock.setNoDelay(true);
    let settled = false;
    const fail = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const timer = setTimeout(() => fail(new Error(`connect timeout after ${timeoutMs} ms`)), timeoutMs);
    const parser = new Parser(sock, parserOpts);
    const userPong = parser.onPong;
    const userErr = parser.onErr;
    parser.onInfo = () => {
      sock.write('CONNECT ' + JSON.stringify({ ...CONNECT_OPTS, name, lang: 'node-raw', version: '0.1.0' }) + '\r\nPING\r\n');
    };
    parser.onPong = () => {
      parser.onPong = userPong;
      parser.onErr = userErr;
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ sock, parser, info: parser.info });
    };
    parser.onErr = (text) => fail(new Error(`server error during connect: ${text}`));
    sock.on('data', (chunk) => parser.push(chunk));
    sock.on('error', (err) => fail(err));
    sock.on('close', () => fail(new Error('connection closed during connect')));
  });
}

/** Resolves after the server answered a PING sent now (all earlier frames processed). */
export function flush(sock, parser, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const target = parser.pongs + 1;
    const prev = parser.onPong;
    const timer = setTimeout(() => {
      parser.onPong = prev;
      reject(new Error(`flush timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    parser.onPong = () => {
      if (prev) prev();
      if (parser.pongs >= target) {
        parser.onPong = prev;
        clearTimeout(timer);
        resolve();
      }
    };
    sock.write(PING);
  });
}

/** Payload of `size` bytes: printable filler, optionally starting with a 10-digit sequence slot. */
export function makePayload(size) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = 97 + (i % 26);
  return b;
}

export const SEQ_DIGITS = 10;

/** Writes seq as SEQ_DIGITS zero-padded decimal digits at buf[off..]. */
export function writeSeq(buf, off, seq) {
  for (let i = off + SEQ_DIGITS - 1; i >= off; i--) {
    buf[i] = 48 + (seq % 10);
    seq = Math.floor(seq / 10);
  }
}

export function readSeq(buf, off) {
  let v = 0;
  for (let i = off; i < off + SEQ_DIGITS; i++) v = v * 10 + (buf[i] - 48);
  return v;
}

/** One PUB frame: header + payload + CRLF. */
export function pubFrame(subject, payload, reply) {
  const head = Buffer.from(reply ? `PUB ${subject} ${reply} ${payload.length}\r\n` : `PUB ${subject} ${payload.length}\r\n`, 'latin1');
  return Buffer.concat([head, payload, Buffer.from(CRLF)]);
}
