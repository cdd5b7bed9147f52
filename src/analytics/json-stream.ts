import type { Readable } from 'node:stream';

/**
 * Reading a JSON body of up to 32 MB without building its whole object graph.
 *
 * Once a body outgrows a batch, its bytes are checked against the JSON grammar as they
 * arrive, and the scanner notes where each top-level array element starts and ends.
 * Consecutive elements are grouped into batches, which the caller later parses one at a
 * time as `[` + bytes + `]`. So the raw body is held once, as Buffers outside the V8 heap,
 * and at most one batch of parsed items exists at a time; a malformed body is refused
 * before anything is stored. A ByteBudget shared by all requests caps the bytes held at
 * once across the process.
 *
 * A body no larger than a batch is parsed whole by the native JSON.parse instead, several
 * times faster than the scanner, and holds no more parsed items than one batch would. It
 * is scanned after all when JSON.parse refuses it, so that the refusal is the scanner's,
 * or when its items' sizes cannot be shown to be within the item limit.
 */

/** A run of consecutive top-level items, as byte offsets into the body. */
export interface ItemBatch {
  start: number;
  end: number;
  count: number;
  /** A single item over the item size limit: reported, never parsed. */
  oversize: boolean;
  /**
   * The items, when the whole body was parsed at once (the offsets are then unused); null
   * once parseBatch has handed them out.
   */
  parsed?: unknown[] | null;
}

export interface ScannedBody {
  body: Buffer;
  /** `array` for a top-level array; `single` for any other value, read as one item. */
  shape: 'array' | 'single';
  batches: ItemBatch[];
  items: number;
  /** Gives the body's bytes back to the budget; call once they are no longer needed. */
  release(): void;
}

export interface ReadLimits {
  maxBytes: number;
  /** Items per batch, and so the most rows one write carries. */
  batchItems: number;
  /** A batch closes once its items span this many bytes. */
  batchBytes: number;
  /** Larger items are refused without being parsed. */
  maxItemBytes: number;
}

/** The body is not JSON; the message says where, and is safe to return. */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
}

/** The body is longer than the limit. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/** Other bodies hold the whole budget; the client should retry shortly. */
export class BudgetExhaustedError extends Error {
  override name = 'BudgetExhaustedError';
}

/** The bytes of request bodies the process may hold at once, across all requests. */
export class ByteBudget {
  private used = 0;

  constructor(readonly max: number) {}

  get held(): number {
    return this.used;
  }

  take(bytes: number): boolean {
    if (this.used + bytes > this.max) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

/** The client stopped sending before the body was complete. */
export class BodyAbortedError extends Error {
  override name = 'BodyAbortedError';
}

/**
 * Reads a request body to its end, checking it as JSON on the way. Rejects with
 * BodyTooLargeError as soon as the limit is passed, with JsonSyntaxError at the first
 * malformed byte and with BudgetExhaustedError when the budget runs out, without
 * reading further.
 */
export function readJsonBody(
  stream: Readable,
  limits: ReadLimits,
  budget = new ByteBudget(Number.POSITIVE_INFINITY),
): Promise<ScannedBody> {
  return new Promise((resolve, reject) => {
    const pieces: Buffer[] = [];
    const batcher = new Batcher(limits);
    // Started only once the body outgrows the whole-body parse, on the bytes so far.
    let scanner: JsonScanner | undefined;
    let received = 0;
    let settled = false;
    let released = false;
    const release = () => {
      if (!released) budget.give(received);
      released = true;
    };

    const finish = (error: Error | undefined, result?: ScannedBody) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      // The error listeners stay: a stream that errors with none would crash the process.
      if (error !== undefined) {
        // What follows a refusal is never read: stop pulling it in.
        stream.pause();
        release();
        reject(error);
      } else if (result !== undefined) {
        resolve(result);
      }
    };

    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (!budget.take(bytes.length)) {
        finish(new BudgetExhaustedError('Other posts hold the memory for bodies'));
        return;
      }
      received += bytes.length;
      if (received > limits.maxBytes) {
        finish(new BodyTooLargeError(`The body is larger than ${limits.maxBytes} bytes`));
        return;
      }
      pieces.push(bytes);
      try {
        if (scanner !== undefined) {
          scanner.write(bytes);
        } else if (received > limits.batchBytes) {
          scanner = new JsonScanner((start, end) => batcher.add(start, end));
          for (const piece of pieces) scanner.write(piece);
        }
      } catch (error) {
        finish(error as Error);
      }
    };
    const onEnd = () => {
      const body = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces, received);
      let scanned: Omit<ScannedBody, 'release'>;
      try {
        if (scanner === undefined) {
          scanned = parseWhole(body, limits) ?? scanWhole(body, limits);
        } else {
          scanner.end();
          scanned = { body, shape: scanner.shape, batches: batcher.finish(), items: batcher.items };
        }
      } catch (error) {
        finish(error as Error);
        return;
      }
      finish(undefined, { ...scanned, release });
    };
    const onError = () => finish(new BodyAbortedError('The body ended early'));
    const onAborted = () => finish(new BodyAbortedError('The body ended early'));

    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('aborted', onAborted);
  });
}

/**
 * Parses one batch's items; the scanner has already checked them. Items parsed with the
 * whole body are handed out once and not kept, so that they are garbage as soon as the
 * caller is done with them, as a scanned batch's are: a post waiting for its commit then
 * holds only its rows.
 */
export function parseBatch(body: Buffer, batch: ItemBatch): unknown[] {
  const { parsed } = batch;
  if (parsed === null) throw new Error("a batch's parsed items were handed out already");
  if (parsed !== undefined) {
    batch.parsed = null;
    return parsed;
  }
  return JSON.parse(`[${body.toString('utf8', batch.start, batch.end)}]`) as unknown[];
}

const BYTE_ORDER_MARK_CHAR = 0xfeff;

type Unreleased = Omit<ScannedBody, 'release'>;

/**
 * A body parsed at once and cut into batches of parsed items; undefined when JSON.parse
 * refuses it, when it nests deeper than the scanner allows, or when an item in it might
 * be over the item size limit.
 */
function parseWhole(body: Buffer, limits: ReadLimits): Unreleased | undefined {
  let text = body.toString('utf8');
  if (text.charCodeAt(0) === BYTE_ORDER_MARK_CHAR) text = text.slice(1);

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) {
    // The one item is the body, whitespace aside: only a body within the limit surely fits.
    const fits = body.length <= limits.maxItemBytes && leastBytes(value, MAX_NESTING) >= 0;
    return fits ? whole(body, 'single', [value], limits) : undefined;
  }
  return itemsFit(body.length, value as unknown[], limits.maxItemBytes)
    ? whole(body, 'array', value as unknown[], limits)
    : undefined;
}

/**
 * Whether every item's span in a body of `bodyBytes` is within `maxItemBytes`. An item's
 * span is at most the body less the brackets, the commas and what the other items take at
 * the least; -1 (too deep) from any item sends the body to the scanner.
 */
function itemsFit(bodyBytes: number, items: unknown[], maxItemBytes: number): boolean {
  if (bodyBytes <= maxItemBytes) {
    for (const item of items) if (leastBytes(item, MAX_NESTING - 1) < 0) return false;
    return true;
  }
  let total = 0;
  let largest = 0;
  for (const item of items) {
    const least = leastBytes(item, MAX_NESTING - 1);
    if (least < 0) return false;
    total += least;
    if (least > largest) largest = least;
  }
  const separators = 2 + Math.max(items.length - 1, 0);
  return bodyBytes - separators - (total - largest) <= maxItemBytes;
}

function whole(body: Buffer, shape: ScannedBody['shape'], items: unknown[], limits: ReadLimits) {
  const batches: ItemBatch[] = [];
  for (let start = 0; start < items.length; start += limits.batchItems) {
    const parsed =
      items.length <= limits.batchItems ? items : items.slice(start, start + limits.batchItems);
    batches.push({ start: 0, end: 0, count: parsed.length, oversize: false, parsed });
  }
  return { body, shape, batches, items: items.length };
}

/** The whole body through the scanner, which refuses it with its own message. */
function scanWhole(body: Buffer, limits: ReadLimits): Unreleased {
  const batcher = new Batcher(limits);
  const scanner = new JsonScanner((start, end) => batcher.add(start, end));
  scanner.write(body);
  scanner.end();
  return { body, shape: scanner.shape, batches: batcher.finish(), items: batcher.items };
}

/**
 * The fewest bytes the value's JSON text can take (a string's UTF-16 length is no more
 * than its UTF-8 length, a number takes a digit at least), or -1 when it holds containers
 * more than `levels` deep. Recursion is bounded by `levels`, far below the stack's depth.
 */
function leastBytes(value: unknown, levels: number): number {
  if (typeof value === 'string') return value.length + 2;
  if (typeof value === 'number') return 1;
  if (typeof value !== 'object' || value === null) return 4;
  if (levels === 0) return -1;

  let bytes = 1;
  if (Array.isArray(value)) {
    for (const element of value) {
      const least = leastBytes(element, levels - 1);
      if (least < 0) return -1;
      bytes += least + 1;
    }
  } else {
    for (const key in value) {
      const least = leastBytes((value as Record<string, unknown>)[key], levels - 1);
      if (least < 0) return -1;
      bytes += key.length + 4 + least;
    }
  }
  // Brackets take two, and the separators one fewer than the members.
  return Math.max(bytes, 2);
}

class Batcher {
  private readonly batches: ItemBatch[] = [];
  private open: ItemBatch | undefined;
  items = 0;

  constructor(private readonly limits: ReadLimits) {}

  add(start: number, end: number): void {
    this.items += 1;
    if (end - start > this.limits.maxItemBytes) {
      this.close();
      this.batches.push({ start, end, count: 1, oversize: true });
      return;
    }
    const open = this.open;
    if (open === undefined) {
      this.open = { start, end, count: 1, oversize: false };
      return;
    }
    open.end = end;
    open.count += 1;
    const full = open.count >= this.limits.batchItems;
    if (full || open.end - open.start >= this.limits.batchBytes) this.close();
  }

  finish(): ItemBatch[] {
    this.close();
    return this.batches;
  }

  private close(): void {
    if (this.open !== undefined) this.batches.push(this.open);
    this.open = undefined;
  }
}

/** Deeper bodies are refused rather than handed to a recursive consumer. */
export const MAX_NESTING = 512;

// Scanner states. After a number, literal or string ends, the state says what may follow.
const VALUE = 0; // a value must come next
const VALUE_OR_CLOSE = 1; // just after `[`
const KEY_OR_CLOSE = 2; // just after `{`
const KEY = 3; // after `,` in an object
const COLON = 4;
const AFTER_VALUE = 5; // `,` or a closing bracket
const STRING = 6;
const ESCAPE = 7;
const UNICODE = 8;
const MINUS = 9;
const ZERO = 10;
const INTEGER = 11;
const DOT = 12;
const FRACTION = 13;
const EXPONENT_MARK = 14;
const EXPONENT_SIGN = 15;
const EXPONENT = 16;
const LITERAL = 17;
const DONE = 18; // the top-level value is complete
const START = 19; // nothing but whitespace (or a byte order mark) yet

const ARRAY = 0;
const OBJECT = 1;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const BYTE_ORDER_MARK = [0xef, 0xbb, 0xbf];
const LITERALS = [Buffer.from('true'), Buffer.from('false'), Buffer.from('null')];

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

function isHex(byte: number): boolean {
  return isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

/**
 * An incremental JSON grammar check (RFC 8259) that reports the byte span of every
 * top-level array element, or of the whole value when the body is not an array.
 */
export class JsonScanner {
  shape: 'array' | 'single' = 'single';
  private state = START;
  private readonly stack = new Uint8Array(MAX_NESTING);
  private depth = 0;
  private keyString = false;
  private hexLeft = 0;
  private literal: Buffer = LITERALS[0] as Buffer;
  private literalAt = 0;
  private offset = 0;
  private itemStart = 0;
  private bomAt = 0;

  constructor(private readonly onItem: (start: number, end: number) => void) {}

  write(chunk: Buffer): void {
    const length = chunk.length;
    let i = 0;
    while (i < length) {
      const byte = chunk[i] as number;
      switch (this.state) {
        case STRING: {
          // The hot loop: most of a body is string content.
          let j = i;
          let c = byte;
          while (c !== QUOTE && c !== BACKSLASH && c >= 0x20) {
            j += 1;
            if (j === length) break;
            c = chunk[j] as number;
          }
          if (j === length) {
            i = j;
            continue;
          }
          if (c === QUOTE) {
            i = j + 1;
            if (this.keyString) {
              this.keyString = false;
              this.state = COLON;
            } else {
              this.valueEnded(this.offset + i);
            }
            continue;
          }
          if (c === BACKSLASH) {
            this.state = ESCAPE;
            i = j + 1;
            continue;
          }
          throw this.error('a control character inside a string', j, false);
        }
        case ESCAPE:
          if (byte === 0x75) {
            this.state = UNICODE;
            this.hexLeft = 4;
          } else if ('"\\/bfnrt'.includes(String.fromCharCode(byte))) {
            this.state = STRING;
          } else {
            throw this.error('an invalid escape in a string', i, false);
          }
          i += 1;
          continue;
        case UNICODE:
          if (!isHex(byte)) throw this.error('an invalid \\u escape', i, false);
          this.hexLeft -= 1;
          if (this.hexLeft === 0) this.state = STRING;
          i += 1;
          continue;
        case MINUS:
          if (byte === 0x30) this.state = ZERO;
          else if (isDigit(byte)) this.state = INTEGER;
          else throw this.error('a digit after the minus sign', i);
          i += 1;
          continue;
        case ZERO:
          if (byte === 0x2e) this.state = DOT;
          else if (byte === 0x65 || byte === 0x45) this.state = EXPONENT_MARK;
          else if (isDigit(byte)) throw this.error('a number with a leading zero', i, false);
          else {
            this.valueEnded(this.offset + i);
            continue;
          }
          i += 1;
          continue;
        case INTEGER:
          while (i < length && isDigit(chunk[i] as number)) i += 1;
          if (i === length) continue;
          if (chunk[i] === 0x2e) this.state = DOT;
          else if (chunk[i] === 0x65 || chunk[i] === 0x45) this.state = EXPONENT_MARK;
          else {
            this.valueEnded(this.offset + i);
            continue;
          }
          i += 1;
          continue;
        case DOT:
          if (!isDigit(byte)) throw this.error('a digit after the decimal point', i);
          this.state = FRACTION;
          i += 1;
          continue;
        case FRACTION:
          while (i < length && isDigit(chunk[i] as number)) i += 1;
          if (i === length) continue;
          if (chunk[i] === 0x65 || chunk[i] === 0x45) {
            this.state = EXPONENT_MARK;
            i += 1;
          } else {
            this.valueEnded(this.offset + i);
          }
          continue;
        case EXPONENT_MARK:
          if (byte === 0x2b || byte === 0x2d) this.state = EXPONENT_SIGN;
          else if (isDigit(byte)) this.state = EXPONENT;
          else throw this.error('a digit in the exponent', i);
          i += 1;
          continue;
        case EXPONENT_SIGN:
          if (!isDigit(byte)) throw this.error('a digit in the exponent', i);
          this.state = EXPONENT;
          i += 1;
          continue;
        case EXPONENT:
          while (i < length && isDigit(chunk[i] as number)) i += 1;
          if (i < length) this.valueEnded(this.offset + i);
          continue;
        case LITERAL:
          if (byte !== this.literal[this.literalAt]) {
            throw this.error(`"${this.literal.toString()}"`, i);
          }
          this.literalAt += 1;
          i += 1;
          if (this.literalAt === this.literal.length) this.valueEnded(this.offset + i);
          continue;
        default:
          i = this.structural(chunk, i, byte);
      }
    }
    this.offset += length;
  }

  /** Declares the body complete; throws if it stopped inside a value. */
  end(): void {
    switch (this.state) {
      case DONE:
        return;
      case ZERO:
      case INTEGER:
      case FRACTION:
      case EXPONENT:
        if (this.depth === 0) {
          this.valueEnded(this.offset);
          return;
        }
        break;
      case START:
        throw new JsonSyntaxError('The body is empty');
      default:
        break;
    }
    throw new JsonSyntaxError(`The body is not valid JSON: it ends early at byte ${this.offset}`);
  }

  /** Handles whitespace, brackets, commas, colons and value starts; returns the next index. */
  private structural(chunk: Buffer, i: number, byte: number): number {
    const at = this.offset + i;
    if (this.state === START && this.byteOrderMark(byte, at)) return i + 1;
    if (isWhitespace(byte)) return i + 1;
    switch (this.state) {
      case START:
        this.shape = byte === 0x5b ? 'array' : 'single';
        return this.startValue(byte, i);
      case VALUE:
        return this.startValue(byte, i);
      case VALUE_OR_CLOSE:
        if (byte === 0x5d) return this.close(ARRAY, i);
        return this.startValue(byte, i);
      case KEY_OR_CLOSE:
        if (byte === 0x7d) return this.close(OBJECT, i);
        return this.startKey(byte, i);
      case KEY:
        return this.startKey(byte, i);
      case COLON:
        if (byte !== 0x3a) throw this.error('":" after an object key', i);
        this.state = VALUE;
        return i + 1;
      case AFTER_VALUE: {
        const container = this.stack[this.depth - 1];
        if (byte === 0x2c) {
          this.state = container === OBJECT ? KEY : VALUE;
          return i + 1;
        }
        if (byte === 0x5d && container === ARRAY) return this.close(ARRAY, i);
        if (byte === 0x7d && container === OBJECT) return this.close(OBJECT, i);
        throw this.error(container === OBJECT ? '"," or "}"' : '"," or "]"', i);
      }
      case DONE:
        throw new JsonSyntaxError(`The body is not valid JSON: unexpected data at byte ${at}`);
      default:
        throw new Error(`JSON scanner in unknown state ${this.state}`);
    }
  }

  /** Whether the byte belongs to a UTF-8 byte order mark, which may open the body. */
  private byteOrderMark(byte: number, at: number): boolean {
    if (at < 3 && at === this.bomAt && byte === BYTE_ORDER_MARK[at]) {
      this.bomAt += 1;
      return true;
    }
    if (this.bomAt > 0 && this.bomAt < 3) {
      throw new JsonSyntaxError(`The body is not valid JSON: a broken byte order mark at ${at}`);
    }
    return false;
  }

  private startKey(byte: number, i: number): number {
    if (byte !== QUOTE) throw this.error('a string key', i);
    this.keyString = true;
    this.state = STRING;
    return i + 1;
  }

  private startValue(byte: number, i: number): number {
    if (this.isItemLevel()) this.itemStart = this.offset + i;
    switch (byte) {
      case QUOTE:
        this.state = STRING;
        return i + 1;
      case 0x7b:
        this.push(OBJECT, i);
        this.state = KEY_OR_CLOSE;
        return i + 1;
      case 0x5b:
        this.push(ARRAY, i);
        this.state = VALUE_OR_CLOSE;
        return i + 1;
      case 0x2d:
        this.state = MINUS;
        return i + 1;
      case 0x30:
        this.state = ZERO;
        return i + 1;
      case 0x74:
      case 0x66:
      case 0x6e:
        this.literal = LITERALS[byte === 0x74 ? 0 : byte === 0x66 ? 1 : 2] as Buffer;
        this.literalAt = 1;
        this.state = LITERAL;
        return i + 1;
      default:
        if (isDigit(byte)) {
          this.state = INTEGER;
          return i + 1;
        }
        throw this.error('a value', i);
    }
  }

  private push(container: number, i: number): void {
    if (this.depth === MAX_NESTING) {
      throw new JsonSyntaxError(
        `The body nests deeper than ${MAX_NESTING} levels at byte ${this.offset + i}`,
      );
    }
    this.stack[this.depth] = container;
    this.depth += 1;
  }

  private close(container: number, i: number): number {
    this.depth -= 1;
    if (this.depth === 0 && container === ARRAY && this.shape === 'array') {
      this.state = DONE;
      return i + 1;
    }
    this.valueEnded(this.offset + i + 1);
    return i + 1;
  }

  /** A value ended just before `end`: note the item, then expect what may follow. */
  private valueEnded(end: number): void {
    if (this.isItemLevel()) this.onItem(this.itemStart, end);
    this.state = this.depth === 0 ? DONE : AFTER_VALUE;
  }

  // Items are the elements of a top-level array, or the top-level value itself.
  private isItemLevel(): boolean {
    return this.shape === 'array' ? this.depth === 1 : this.depth === 0;
  }

  /** The error for byte `i` of the current chunk: what was expected there, or what is wrong. */
  private error(text: string, i: number, expected = true): JsonSyntaxError {
    const at = this.offset + i;
    const problem = expected ? `expected ${text}` : text;
    return new JsonSyntaxError(`The body is not valid JSON: ${problem} at byte ${at}`);
  }
}
