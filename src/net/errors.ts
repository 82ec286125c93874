// Errors thrown by src/net parsers. Both carry the offending input so that callers (api validation, CLI) can name
// the object and field and still show exactly what the user wrote.

/** Thrown when text is not an IP address or CIDR in the form we accept (see ip.ts / cidr.ts headers). */
export class NetParseError extends Error {
  override readonly name = 'NetParseError';
  /** The text that failed to parse, unmodified. */
  readonly input: string;
  /** What is wrong, without the input, e.g. `octet 4 "256" is greater than 255`. */
  readonly reason: string;

  constructor(input: string, message: string, reason: string = message) {
    super(message);
    this.input = input;
    this.reason = reason;
  }
}

/** Thrown by parseSelector. `position` is a 0-based UTF-16 index into `input` where the problem starts. */
export class SelectorParseError extends Error {
  override readonly name = 'SelectorParseError';
  readonly input: string;
  readonly position: number;
  /** What the parser wanted at `position`, e.g. `a quoted string` or `"==", "!=", "in", ...`. */
  readonly expected: string;
  /** What it found instead, e.g. `label "b"` or `end of input`. */
  readonly found: string;

  constructor(input: string, position: number, expected: string, found: string) {
    super(`invalid selector ${JSON.stringify(input)}: expected ${expected} at position ${position}, found ${found}`);
    this.input = input;
    this.position = position;
    this.expected = expected;
    this.found = found;
  }
}
