/** Result of cutting a text down to a maximum size. */
export interface BoundedText {
  text: string;
  truncated: boolean;
  /** Characters left out (0 when not truncated). */
  omitted: number;
}

/**
 * Keeps about half of `max` characters from the head and half from the tail of `text`, with a marker
 * line in between built by `marker(omitted)`. Text within `max` is returned as is. The result never
 * exceeds `max` characters plus the marker; `max <= 0` gives an empty text flagged as truncated.
 */
export function headTail(text: string, max: number, marker: (omitted: number) => string): BoundedText {
  if (text.length <= max) return { text, truncated: false, omitted: 0 };
  if (max <= 0) return { text: "", truncated: true, omitted: text.length };
  let headLength = Math.ceil(max / 2);
  let tailStart = text.length - (max - headLength);
  // Prefer cutting at line boundaries when one is close by, so lines are not shown half.
  const headBreak = text.lastIndexOf("\n", headLength);
  if (headBreak > headLength * 0.8) headLength = headBreak + 1;
  const tailBreak = text.indexOf("\n", tailStart);
  if (tailBreak !== -1 && tailBreak - tailStart < (text.length - tailStart) * 0.2) tailStart = tailBreak + 1;
  const omitted = tailStart - headLength;
  const head = text.slice(0, headLength);
  const tail = text.slice(tailStart);
  const sep = head.endsWith("\n") ? "" : "\n";
  return { text: `${head}${sep}${marker(omitted)}\n${tail}`, truncated: true, omitted };
}

/** The marker the runtime and the shell put between head and tail. */
export function omissionMarker(omitted: number, unit: "characters" | "bytes", fullOutput: string | null): string {
  const where = fullOutput ? `; full output in ${fullOutput}` : "";
  return `[... ${omitted} ${unit} omitted${where} ...]`;
}

/** Cuts one line for display, marking the cut. */
export function clipLine(line: string, max: number): string {
  return line.length <= max ? line : `${line.slice(0, max)}… [${line.length - max} more characters]`;
}
