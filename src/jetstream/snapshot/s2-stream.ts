/**
 * The S2 stream format (klauspost/compress s2, a superset of Snappy's
 * framing format) that nats-server's snapshots travel in: a stream
 * identifier chunk, then chunks of at most 64 KiB of input, each compressed
 * with the Snappy block format (every Snappy block is a valid S2 block) or
 * stored as is, with the masked CRC-32C of the uncompressed bytes. So a
 * Natter backup (`stream.tar.s2`) opens with the `s2` tools, and natscli's
 * progress tracker, which reads the s2 stream as it arrives, accepts it.
 *
 * The block codec and the checksum come from libraries (`snappy`, native
 * via napi-rs; `@node-rs/crc32`); the framing, a few dozen lines, is here
 * because no maintained package writes S2's identifier.
 */
import { compressSync, uncompressSync } from 'snappy';
import { crc32c } from '@node-rs/crc32';

/** Chunk type 0xff, length 6, "S2sTwO". */
const S2_IDENTIFIER = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x53, 0x32, 0x73, 0x54, 0x77, 0x4f]);
const S2_MAGIC = 'S2sTwO';
/** A Snappy framed stream is valid S2 input too. */
const SNAPPY_MAGIC = 'sNaPpY';
const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_PADDING = 0xfe;
const CHUNK_IDENTIFIER = 0xff;
/** What we write per chunk: Snappy's framing limit, which S2 readers accept as well. */
const BLOCK_SIZE = 64 * 1024;
/** S2 allows blocks of up to 4 MiB; a chunk claiming more is refused before it is buffered. */
const MAX_BLOCK_SIZE = 4 * 1024 * 1024;
const MAX_CHUNK_LEN = MAX_BLOCK_SIZE + 4 + 16;

/** The framing formats' checksum: CRC-32C rotated and offset, so that checksumming checksums stays meaningful. */
function maskedCrc(data: Uint8Array): number {
  const c = crc32c(data) >>> 0;
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function chunkHeader(type: number, payloadLen: number, crc: number): Buffer {
  const h = Buffer.allocUnsafe(8);
  const len = payloadLen + 4;
  h[0] = type;
  h[1] = len & 0xff;
  h[2] = (len >>> 8) & 0xff;
  h[3] = (len >>> 16) & 0xff;
  h.writeUInt32LE(crc, 4);
  return h;
}

/** Compresses a byte stream into S2 chunks; `write` and `end` return the encoded bytes ready to send. */
export class S2Writer {
  private started = false;
  private pending: Buffer[] = [];
  private pendingLen = 0;

  write(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      out.push(S2_IDENTIFIER);
    }
    this.pending.push(data);
    this.pendingLen += data.length;
    if (this.pendingLen < BLOCK_SIZE) return out;
    const all = Buffer.concat(this.pending, this.pendingLen);
    let off = 0;
    for (; all.length - off >= BLOCK_SIZE; off += BLOCK_SIZE) this.encodeBlock(all.subarray(off, off + BLOCK_SIZE), out);
    const rest = all.subarray(off);
    this.pending = rest.length > 0 ? [rest] : [];
    this.pendingLen = rest.length;
    return out;
  }

  /** The last partial block (and the identifier, for an empty stream). */
  end(): Buffer[] {
    const out: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      out.push(S2_IDENTIFIER);
    }
    if (this.pendingLen > 0) this.encodeBlock(Buffer.concat(this.pending, this.pendingLen), out);
    this.pending = [];
    this.pendingLen = 0;
    return out;
  }

  private encodeBlock(block: Buffer, out: Buffer[]): void {
    const crc = maskedCrc(block);
    const compressed = compressSync(block);
    // Incompressible input (already compressed payloads) is stored as is, as S2's own writer does.
    if (compressed.length >= block.length - (block.length >>> 5)) {
      out.push(chunkHeader(CHUNK_UNCOMPRESSED, block.length, crc), Buffer.from(block));
    } else {
      out.push(chunkHeader(CHUNK_COMPRESSED, compressed.length, crc), compressed);
    }
  }
}

/** Decodes an S2 (or Snappy framed) stream fed in arbitrary pieces; throws on damage. */
export class S2Reader {
  /** Bytes received and not yet decoded, joined only once they hold a whole chunk (small pieces stay cheap). */
  private parts: Buffer[] = [];
  private partsLen = 0;
  /** How many buffered bytes the next step needs: a chunk header, then the whole chunk. */
  private need = 4;
  private sawIdentifier = false;

  /** The uncompressed bytes of every chunk completed by `data`. */
  push(data: Buffer): Buffer[] {
    // Anything else is refused at its first byte rather than after a would-be chunk length of garbage.
    if (!this.sawIdentifier && this.partsLen === 0 && data.length > 0 && data[0] !== CHUNK_IDENTIFIER) {
      throw new Error('s2: stream does not start with a stream identifier');
    }
    this.parts.push(data);
    this.partsLen += data.length;
    const out: Buffer[] = [];
    if (this.partsLen < this.need) return out;
    const buf = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.partsLen);
    let off = 0;
    while (buf.length - off >= 4) {
      const type = buf[off];
      const len = buf[off + 1] | (buf[off + 2] << 8) | (buf[off + 3] << 16);
      if (len > MAX_CHUNK_LEN) throw new Error(`s2: chunk of ${len} bytes is too large`);
      if (buf.length - off - 4 < len) break;
      const body = buf.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      this.chunk(type, body, out);
    }
    const rest = buf.subarray(off);
    this.parts = rest.length > 0 ? [Buffer.from(rest)] : [];
    this.partsLen = rest.length;
    this.need = rest.length < 4 ? 4 : 4 + (rest[1] | (rest[2] << 8) | (rest[3] << 16));
    return out;
  }

  /** Throws unless the stream ended on a chunk boundary. */
  end(): void {
    if (!this.sawIdentifier) throw new Error('s2: empty stream');
    if (this.partsLen > 0) throw new Error('s2: stream ends inside a chunk');
  }

  private chunk(type: number, body: Buffer, out: Buffer[]): void {
    if (type === CHUNK_IDENTIFIER) {
      const magic = body.toString('latin1');
      if (magic !== S2_MAGIC && magic !== SNAPPY_MAGIC) throw new Error('s2: unknown stream identifier');
      this.sawIdentifier = true;
      return;
    }
    if (!this.sawIdentifier) throw new Error('s2: stream does not start with a stream identifier');
    if (type === CHUNK_COMPRESSED || type === CHUNK_UNCOMPRESSED) {
      if (body.length < 4) throw new Error('s2: chunk too short');
      const crc = body.readUInt32LE(0);
      let data: Buffer;
      if (type === CHUNK_UNCOMPRESSED) {
        data = Buffer.from(body.subarray(4));
      } else {
        let decoded: string | Buffer;
        try {
          decoded = uncompressSync(body.subarray(4), { asBuffer: true });
        } catch (e) {
          throw new Error(`s2: ${e instanceof Error ? e.message.replace(/^snappy: /, '') : String(e)}`);
        }
        data = typeof decoded === 'string' ? Buffer.from(decoded) : decoded;
      }
      if (data.length > MAX_BLOCK_SIZE) throw new Error('s2: block too large');
      if (maskedCrc(data) !== crc) throw new Error('s2: checksum mismatch');
      out.push(data);
      return;
    }
    // Padding and skippable chunks (S2's seek index among them) carry nothing for us; 0x02-0x7f are reserved.
    if (type === CHUNK_PADDING || type >= 0x80) return;
    throw new Error(`s2: unsupported chunk type 0x${type.toString(16)}`);
  }
}
