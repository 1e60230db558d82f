import type { ActionHandlers } from "../conversations/host-action.js";
import { conversationDir } from "../conversations/workspace.js";
import { SkillStore } from "./skill-store.js";

/** Skill actions touch shared folders (the store, every workspace): one at a time per host. */
let queue: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => T | Promise<T>): Promise<T> {
  const next = queue.then(fn);
  queue = next.catch(() => undefined);
  return next;
}

/**
 * skill_create/skill_update/skill_delete/skill_set_upstream (reference host §4.10): the staged skill
 * is the calling conversation's `.skill/<name>/`; the store is `rundir/.skill/` (skill-store.ts).
 */
export const skillHandlers: ActionHandlers = {
  skill_create: {
    perform: (payload, ctx) =>
      serial(() => new SkillStore(ctx.service.settings.workdir).create(conversationDir(ctx.service.settings.workdir, ctx.conversation.id), payload)),
  },
  skill_update: {
    perform: (payload, ctx) =>
      serial(() => new SkillStore(ctx.service.settings.workdir).update(conversationDir(ctx.service.settings.workdir, ctx.conversation.id), payload)),
  },
  skill_delete: { perform: (payload, ctx) => serial(() => new SkillStore(ctx.service.settings.workdir).delete(payload)) },
  skill_set_upstream: { perform: (payload, ctx) => serial(() => new SkillStore(ctx.service.settings.workdir).setUpstream(payload)) },
};
