/** One record cut out of an archive file, with the place it was found (1-based line; k-th record of that line). */
export interface RecordFrame {
  readonly data: Buffer;
  readonly line: number;
  readonly indexInLine: number;
}

/** Kinesis's largest record: a framed record longer than this can only be garbage, and is cut here. */
export const MaxFrameBytes = 10 * 1_048_576;

const Bom = Buffer.from([0xef, 0xbb, 0xbf]);
const LF = 0x0a;
const CR = 0x0d;
const Space = 0x20;
const Tab = 0x09;
const Quote = 0x22;
const Backslash = 0x5c;
const OpenBrace = 0x7b;
const CloseBrace = 0x7d;
const OpenBracket = 0x5b;
const CloseBracket = 0x5d;

type Mode = 'between' | 'json' | 'text';

/**
 * Cuts records out of the bytes of a replay input, chunk by chunk, without decoding them: what Firehose writes to
 * S3 (records concatenated with no delimiter, as when it reads a Kinesis stream) and newline-delimited JSON, mixed
 * freely. A record is a balanced JSON object or array (strings and escapes respected), or, for anything else, the
 * rest of its line. A record never crosses a line end (compact JSON has none), so a broken record costs one dead
 * letter and never swallows the records after it; a pretty-printed document gives a dead letter per line.
 *
 * Bytes are never decoded here: only ASCII structure bytes are looked at (they never occur inside a UTF-8 multi-byte
 * sequence), so invalid UTF-8 reaches the decode stage unchanged and is judged exactly as a Kinesis record would be.
 */
export class RecordFramer {
  readonly #maxBytes: number;
  #mode: Mode = 'between';
  #depth = 0;
  #inString = false;
  #escaped = false;
  #line = 1;
  #indexInLine = 0;
  #recordLine = 1;
  #recordIndex = 0;
  #pieces: Buffer[] = [];
  #length = 0;
  /** Bytes of a leading byte order mark seen so far; -1 once past the start of the input. */
  #bomMatched = 0;

  constructor(options: { maxBytes?: number } = {}) {
    this.#maxBytes = options.maxBytes ?? MaxFrameBytes;
  }

  /** The records completed by this chunk. */
  push(chunk: Buffer): RecordFrame[] {
    const frames: RecordFrame[] = [];
    let i = 0;
    // A UTF-8 byte order mark is file framing, not part of the first record (it may arrive split over chunks).
    while (this.#bomMatched >= 0 && i < chunk.length) {
      if (chunk[i] === Bom[this.#bomMatched]) {
        i++;
        if (++this.#bomMatched === Bom.length) this.#bomMatched = -1;
        continue;
      }
      this.#notBom();
    }
    let start = this.#mode === 'between' ? -1 : i;
    for (; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.#mode === 'between') {
        if (b === LF) {
          this.#newLine();
        } else if (b !== Space && b !== Tab && b !== CR) {
          start = i;
          this.#begin(b);
        }
        continue;
      }
      if (b === LF) {
        // A record never crosses a line end: what is open here is complete (text) or broken (JSON); both go on.
        this.#append(chunk, start, i);
        frames.push(this.#finish(true));
        start = -1;
        this.#newLine();
        continue;
      }
      if (this.#mode === 'text') continue;
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (b === Backslash) this.#escaped = true;
        else if (b === Quote) this.#inString = false;
      } else if (b === Quote) {
        this.#inString = true;
      } else if (b === OpenBrace || b === OpenBracket) {
        this.#depth++;
      } else if ((b === CloseBrace || b === CloseBracket) && --this.#depth === 0) {
        this.#append(chunk, start, i + 1);
        frames.push(this.#finish(false));
        start = -1;
      }
    }
    if (this.#mode !== 'between' && start >= 0) this.#append(chunk, start, chunk.length);
    return frames;
  }

  /** The record still open at the end of the input (a last line without a line end, or a broken object). */
  end(): RecordFrame[] {
    this.#notBom();
    return this.#mode === 'between' ? [] : [this.#finish(true)];
  }

  /** The input does not start with a whole BOM: the bytes taken for one start the first record (a text record). */
  #notBom(): void {
    const partial = Bom.subarray(0, Math.max(this.#bomMatched, 0));
    this.#bomMatched = -1;
    if (partial.length === 0) return;
    this.#begin(partial[0]!);
    this.#pieces.push(Buffer.from(partial));
    this.#length = partial.length;
  }

  #begin(first: number): void {
    this.#indexInLine++;
    this.#recordLine = this.#line;
    this.#recordIndex = this.#indexInLine;
    this.#pieces = [];
    this.#length = 0;
    if (first === OpenBrace || first === OpenBracket) {
      this.#mode = 'json';
      this.#depth = 1;
      this.#inString = false;
      this.#escaped = false;
    } else {
      this.#mode = 'text';
    }
  }

  #newLine(): void {
    this.#line++;
    this.#indexInLine = 0;
  }

  #append(chunk: Buffer, from: number, to: number): void {
    const room = this.#maxBytes - this.#length;
    const end = Math.min(to, from + Math.max(room, 0));
    if (end <= from) return;
    // Copied: a record must not keep its whole source chunk alive.
    this.#pieces.push(Buffer.from(chunk.subarray(from, end)));
    this.#length += end - from;
  }

  #finish(atLineEnd: boolean): RecordFrame {
    let data = this.#pieces.length === 1 ? this.#pieces[0]! : Buffer.concat(this.#pieces, this.#length);
    // The CR of a CRLF line end belongs to the line end, not to the record.
    if (atLineEnd && data.length > 0 && data[data.length - 1] === CR) data = data.subarray(0, data.length - 1);
    this.#mode = 'between';
    this.#pieces = [];
    this.#length = 0;
    return { data, line: this.#recordLine, indexInLine: this.#recordIndex };
  }
}
