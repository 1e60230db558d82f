/**
 * A strict checker for Telegram HTML (parse_mode "HTML"): only allowed tags and attributes,
 * balanced and properly nested, nesting rules Telegram enforces, escaped `<`, `>` and `&`.
 * Returns a list of problems (empty = valid).
 */

const ALLOWED: Readonly<Record<string, (attrs: string) => boolean>> = {
  b: (a) => a === "",
  strong: (a) => a === "",
  i: (a) => a === "",
  em: (a) => a === "",
  u: (a) => a === "",
  ins: (a) => a === "",
  s: (a) => a === "",
  strike: (a) => a === "",
  del: (a) => a === "",
  "tg-spoiler": (a) => a === "",
  span: (a) => a === ' class="tg-spoiler"',
  a: (a) => /^ href="[^"<>]+"$/.test(a),
  "tg-emoji": (a) => /^ emoji-id="\d+"$/.test(a),
  code: (a) => a === "" || /^ class="language-[\w#+.-]+"$/.test(a),
  pre: (a) => a === "",
  blockquote: (a) => a === "" || a === " expandable",
};

const TOKEN_RE = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>|&(#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[<>&]/g;

export function telegramHtmlProblems(html: string): string[] {
  const problems: string[] = [];
  const stack: { name: string; attrs: string }[] = [];
  for (const m of html.matchAll(TOKEN_RE)) {
    const [whole, slash, rawName, attrs, entity] = m;
    const at = `at ${m.index}`;
    if (rawName === undefined && entity === undefined) {
      problems.push(`unescaped ${JSON.stringify(whole)} ${at}`);
      continue;
    }
    if (entity !== undefined) {
      if (!entity.startsWith("#") && !["lt", "gt", "amp", "quot"].includes(entity)) {
        problems.push(`unsupported entity &${entity}; ${at}`);
      }
      continue;
    }
    const name = (rawName ?? "").toLowerCase();
    const check = ALLOWED[name];
    if (!check) {
      problems.push(`tag <${name}> not allowed ${at}`);
      continue;
    }
    if (slash === "/") {
      const top = stack.pop();
      if (attrs !== "") problems.push(`closing tag with attributes ${at}`);
      if (!top) problems.push(`unmatched </${name}> ${at}`);
      else if (top.name !== name) problems.push(`</${name}> closes <${top.name}> ${at}`);
      continue;
    }
    if (!check(attrs ?? "")) problems.push(`bad attributes on <${name}>: ${JSON.stringify(attrs)} ${at}`);
    const parent = stack[stack.length - 1];
    if (parent && parent.name === "code") problems.push(`<${name}> inside <code> ${at}`);
    if (parent && parent.name === "pre" && name !== "code") problems.push(`<${name}> inside <pre> ${at}`);
    if (name === "code" && attrs !== "" && parent?.name !== "pre") problems.push(`code class outside pre ${at}`);
    if (name === "blockquote" && stack.some((t) => t.name === "blockquote")) problems.push(`nested blockquote ${at}`);
    if (name === "a" && stack.some((t) => t.name === "a")) problems.push(`nested link ${at}`);
    if (name === "pre" && stack.some((t) => t.name !== "blockquote")) problems.push(`<pre> inside inline tag ${at}`);
    stack.push({ name, attrs: attrs ?? "" });
  }
  for (const open of stack) problems.push(`unclosed <${open.name}>`);
  return problems;
}

/** Throws with all problems when `html` is not valid Telegram HTML or longer than `limit`. */
export function assertTelegramHtml(html: string, limit = 4096): void {
  const problems = telegramHtmlProblems(html);
  if (html.length > limit) problems.push(`length ${html.length} > ${limit}`);
  if (problems.length > 0) {
    throw new Error(`invalid Telegram HTML:\n- ${problems.join("\n- ")}\n---\n${html.slice(0, 2000)}`);
  }
}

/** True when the string contains a lone (unpaired) surrogate. */
export function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** Deterministic pseudo-random words for long replies. */
export function words(count: number, seed = 1): string[] {
  const syllables = ["ka", "lo", "mi", "ster", "ling", "qu", "ra", "ven", "to", "bel", "ix", "or"];
  let x = seed;
  const next = (): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x;
  };
  return Array.from({ length: count }, (_, i) => {
    const n = 1 + (next() % 3);
    let w = "";
    for (let k = 0; k < n; k++) w += syllables[next() % syllables.length];
    return `${w}${i}`;
  });
}
