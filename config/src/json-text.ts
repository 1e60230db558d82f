/**
 * JSON parsing with useful syntax errors. Node 20's JSON.parse often reports no position at all,
 * so on failure a small scanner finds the first problem and reports its line and column.
 */

export interface JsonSyntaxError {
  line: number;
  column: number;
  message: string;
}

class Fail extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function show(c: string | undefined): string {
  if (c === undefined) return "end of file";
  if (c === "\n" || c === "\r") return "end of line";
  return `'${c}'`;
}

class Scanner {
  private i = 0;
  constructor(private readonly text: string) {}

  run(): void {
    this.value();
    this.ws();
    if (this.i < this.text.length) this.fail(`unexpected ${show(this.text[this.i])} after the end of the JSON value`);
  }

  private fail(message: string, at = this.i): never {
    throw new Fail(at, message);
  }

  private ws(): void {
    for (;;) {
      const c = this.text[this.i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") this.i++;
      else if (c === "/" && (this.text[this.i + 1] === "/" || this.text[this.i + 1] === "*")) this.fail("comments are not allowed in JSON");
      else return;
    }
  }

  private value(): void {
    this.ws();
    const c = this.text[this.i];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
    for (const word of ["true", "false", "null"]) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    if (c === "'") this.fail("strings must use double quotes");
    this.fail(`unexpected ${show(c)}, expected a value`);
  }

  private object(): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === "}") {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      const c = this.text[this.i];
      if (c !== '"') this.fail(c === "}" ? "trailing comma before '}'" : `expected a property name in double quotes, got ${show(c)}`);
      this.string();
      this.ws();
      if (this.text[this.i] !== ":") this.fail(`expected ':' after the property name, got ${show(this.text[this.i])}`);
      this.i++;
      this.value();
      this.ws();
      const next = this.text[this.i];
      if (next === "}") {
        this.i++;
        return;
      }
      if (next !== ",") this.fail(`expected ',' or '}' after a property value, got ${show(next)}`);
      this.i++;
    }
  }

  private array(): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === "]") {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.i] === "]") this.fail("trailing comma before ']'");
      this.value();
      this.ws();
      const next = this.text[this.i];
      if (next === "]") {
        this.i++;
        return;
      }
      if (next !== ",") this.fail(`expected ',' or ']' after an array item, got ${show(next)}`);
      this.i++;
    }
  }

  private string(): void {
    const start = this.i;
    this.i++;
    for (;;) {
      const c = this.text[this.i];
      if (c === undefined) this.fail("unterminated string", start);
      if (c === '"') {
        this.i++;
        return;
      }
      if (c === "\\") {
        const e = this.text[this.i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.i + 2, this.i + 6))) this.fail("invalid \\u escape");
          this.i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) this.i += 2;
        else this.fail(`invalid escape '\\${e ?? ""}'`);
        continue;
      }
      if (c < " ") this.fail(c === "\n" ? "unterminated string (line break inside a string)" : "control character in a string");
      this.i++;
    }
  }

  private number(): void {
    NUMBER.lastIndex = this.i;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail("invalid number");
    this.i += match[0].length;
  }
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lastBreak = before.lastIndexOf("\n");
  return { line: before.split("\n").length, column: offset - lastBreak };
}

/** Finds the first JSON syntax error in `text` (1-based line and column), or undefined if it is valid. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  try {
    new Scanner(text).run();
    return undefined;
  } catch (error) {
    if (!(error instanceof Fail)) throw error;
    return { ...position(text, error.offset), message: error.message };
  }
}

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; error: JsonSyntaxError };

/** JSON.parse (a leading BOM is allowed) with a line/column error on failure. */
export function parseJsonText(text: string): JsonParseResult {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch (error) {
    const found = findJsonSyntaxError(body) ?? { line: 1, column: 1, message: (error as Error).message };
    return { ok: false, error: found };
  }
}
