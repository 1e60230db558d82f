import { lazySchema } from "@starling/protocol";
import { z } from "zod";

/** Shapes of the helper script's answers (remote/helper-script.ts), checked before use; built on the first remote call. */
export const remoteAnswers = lazySchema(() => {
  const ResolveAnswer = z.object({
    abs: z.string(),
    display: z.string(),
    info: z.object({ isDir: z.boolean(), size: z.number(), mtimeMs: z.number() }).nullable(),
  });
  /** `cut[i]`: characters the helper cut from `lines[i]` (it sends at most `clip` of each line). */
  const ReadAnswer = z.object({ display: z.string(), total: z.number(), lines: z.array(z.string()), cut: z.array(z.number()).optional() });
  const TextsAnswer = z.object({ texts: z.array(z.string().nullable()) });
  const EmptyAnswer = z.object({});
  const WalkAnswer = z.object({
    display: z.string(),
    abs: z.string(),
    isDir: z.boolean(),
    /** [abs, rel, size, mtimeMs] */
    files: z.array(z.tuple([z.string(), z.string(), z.number(), z.number()])),
    visited: z.number(),
    cut: z.boolean(),
  });
  const GrepAnswer = z.object({ matches: z.array(z.tuple([z.string(), z.number(), z.string()])), more: z.boolean() });
  const LsAnswer = z.object({ display: z.string(), lines: z.array(z.string()), truncated: z.boolean() });
  return { ResolveAnswer, ReadAnswer, TextsAnswer, EmptyAnswer, WalkAnswer, GrepAnswer, LsAnswer };
});

/** One file change for the helper's `write` operation (`content: null` deletes). */
export interface RemoteWrite {
  abs: string;
  content: string | null;
  append?: boolean;
  mode?: string;
}
