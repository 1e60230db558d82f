/**
 * The images a turn that ended without a final answer made (`attachments` of its turn_failed,
 * turn_cancelled or turn_superseded event), as attachment tags after a line saying so, for the end of a
 * notice (`separator` before it) or a message of their own; "" when there are none.
 */
export function madeBefore(paths: readonly string[] | undefined, separator: string): string {
  if (!paths?.length) return "";
  return `${separator}Images the turn made before it stopped:\n${paths.map((path) => `<attachment>${path}</attachment>`).join("\n")}`;
}
