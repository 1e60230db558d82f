/**
 * Markdown tables as aligned monospace text (sent inside `<pre>`): cells joined with ` | `,
 * a header rule of `─` joined with `─┼─`.
 */

export type CellAlign = "left" | "right" | "center" | null;

/** Terminal-style display width: wide East Asian characters and emoji count 2, marks 0. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (
      (cp >= 0x0300 && cp <= 0x036f) ||
      (cp >= 0x200b && cp <= 0x200f) ||
      (cp >= 0xfe00 && cp <= 0xfe0f) ||
      cp === 0x200d
    ) {
      continue;
    }
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x1f300 && cp <= 0x1faff) ||
      (cp >= 0x20000 && cp <= 0x3fffd);
    width += wide ? 2 : 1;
  }
  return width;
}

function pad(text: string, width: number, align: CellAlign): string {
  const gap = Math.max(0, width - displayWidth(text));
  if (align === "right") return " ".repeat(gap) + text;
  if (align === "center") {
    const left = Math.floor(gap / 2);
    return " ".repeat(left) + text + " ".repeat(gap - left);
  }
  return text + " ".repeat(gap);
}

/**
 * Render a table to aligned plain text. Cells are single-line plain strings (line breaks are
 * folded to spaces); rows shorter than the header are padded with empty cells. Trailing
 * spaces are trimmed from each line.
 */
export function renderTableText(header: readonly string[], rows: readonly (readonly string[])[], align: readonly CellAlign[] = []): string {
  const clean = (cell: string): string => cell.replace(/\s*\n\s*/g, " ").trim();
  const columns = Math.max(header.length, ...rows.map((r) => r.length));
  const grid = [header, ...rows].map((row) => Array.from({ length: columns }, (_, c) => clean(row[c] ?? "")));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(1, ...grid.map((row) => displayWidth(row[c] ?? ""))));
  const line = (row: readonly string[]): string =>
    row.map((cell, c) => pad(cell, widths[c] ?? 1, align[c] ?? null)).join(" | ").replace(/\s+$/, "");
  const [head, ...body] = grid;
  const rule = widths.map((w) => "─".repeat(w)).join("─┼─");
  return [line(head ?? []), rule, ...body.map(line)].join("\n");
}
