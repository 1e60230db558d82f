import type { RemoteWorkspace } from "./remote-workspace.js";

/**
 * Where a file of a tool that stays local (downloads, media) is, in a fixed-remote conversation: the model's file
 * tools and shell work on the SSH host there, and would look for it in the wrong place. Null when not fixed-remote.
 */
export function localFileNote(fixed: RemoteWorkspace | null): string | null {
  if (!fixed) return null;
  return (
    `the local workspace of the Starling machine, not ${fixed.label}: file_read, shell and the other file tools work on ${fixed.alias} and cannot see it ` +
    "(it can be sent with <attachment> or opened with image_load, pdf_load or audio_load)"
  );
}

/** Why a media tool found no file, in a fixed-remote conversation: it reads the local workspace. Empty otherwise. */
export function localReadNote(fixed: RemoteWorkspace | null): string {
  if (!fixed) return "";
  return `. This tool reads the local workspace of the Starling machine, not ${fixed.label} where file_read and shell work; a file on ${fixed.alias} cannot be loaded from there.`;
}
