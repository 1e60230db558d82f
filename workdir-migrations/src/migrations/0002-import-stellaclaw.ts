import path from "node:path";
import { mergeMoveEntries } from "../fs-utils.js";
import { conversationWorkspace, workdirPaths } from "../layout.js";
import { type Migration, type MigrationContext, silentContext } from "../migration.js";
import {
  listConversationFolders,
  listLegacySessionHistories,
  readConversationSettings,
  repairWorkspace,
} from "../stellaclaw/conversations.js";
import {
  detectStellaclawVersion,
  isImportableStellaclawVersion,
  UnsupportedStellaclawWorkdirError,
} from "../stellaclaw/detect.js";
import { readChannels, readConversationIds, readCronTasks } from "../stellaclaw/host-state.js";
import { type StellaclawConversation, type StellaclawImport, writeStellaclawImport } from "../stellaclaw/import-file.js";

/** Skill folders older layouts used; their skills move into `rundir/.skill` (existing skills win). */
const OLD_SKILL_DIRS = [".skills", "skills"];

async function mergeOldSkillDirs(dir: string, context: MigrationContext): Promise<void> {
  const paths = workdirPaths(dir);
  for (const old of OLD_SKILL_DIRS) {
    const from = path.join(paths.rundir, old);
    const { moved, conflicts } = await mergeMoveEntries(from, paths.skills);
    if (moved.length > 0) context.log(`moved skills ${moved.join(", ")} from rundir/${old} to rundir/.skill`);
    if (conflicts.length > 0) {
      context.log(`kept rundir/${old}/{${conflicts.join(",")}}: rundir/.skill already has skills of those names`);
    }
  }
}

async function importConversations(
  dir: string,
  context: MigrationContext,
  warnings: string[],
  mappings: Map<string, string>,
): Promise<StellaclawConversation[]> {
  const byId = new Map<string, StellaclawConversation>();
  for (const conversationId of await listConversationFolders(dir)) {
    const workspace = conversationWorkspace(dir, conversationId);
    await repairWorkspace(dir, workspace, context);
    const settings = await readConversationSettings(workspace, conversationId, warnings);
    if (settings === undefined) continue;
    settings.legacySessionHistories = await listLegacySessionHistories(workspace);
    byId.set(conversationId, settings);
  }
  // A mapping without a conversation folder (never started a worker) still keeps its id.
  for (const [key, conversationId] of mappings) {
    if (byId.has(conversationId)) continue;
    const split = key.indexOf("::");
    byId.set(conversationId, {
      conversationId,
      channelId: key.slice(0, split),
      platformChatId: key.slice(split + 2),
      legacySessionHistories: [],
    });
  }
  return [...byId.values()].sort((a, b) => a.conversationId.localeCompare(b.conversationId));
}

/**
 * Takes over a Stellaclaw workdir (reference §3) in place. Shared layout that already
 * matches (`rundir/.skill`, `rundir/shared`, `conversations/<channel>-NNNNNN/` with
 * `attachments/incoming/`) is kept; older skill folders (`rundir/.skills`, `rundir/skills`)
 * are merged into `rundir/.skill`; each conversation root gets Starling's workspace
 * folders and working `shared`/`.skill_memory` links; host state (conversation ids,
 * chat approvals, admins, cron tasks, per-conversation settings) is normalised into
 * `state/import/stellaclaw.json` for the host to load. Stellaclaw's own files are left
 * in place. A workdir that is not Stellaclaw's only gets the skill-folder merge.
 */
export const importStellaclaw: Migration = {
  version: 2,
  name: "0002-import-stellaclaw",
  async up(dir, context = silentContext) {
    await mergeOldSkillDirs(dir, context);
    const version = await detectStellaclawVersion(dir);
    if (version === undefined) return;
    if (!isImportableStellaclawVersion(version)) throw new UnsupportedStellaclawWorkdirError(dir, version);
    context.log(`importing Stellaclaw workdir (schema ${version})`);
    const warnings: string[] = [];
    const ids = await readConversationIds(dir, warnings);
    const data: StellaclawImport = {
      format: 1,
      stellaclawWorkdirVersion: version,
      nextIndexByChannel: ids.nextIndexByChannel,
      conversations: await importConversations(dir, context, warnings, ids.mappings),
      channels: await readChannels(dir, warnings),
      cronTasks: await readCronTasks(dir, warnings),
      warnings,
    };
    for (const warning of warnings) context.log(`warning: ${warning}`);
    if (await writeStellaclawImport(dir, data)) {
      context.log(
        `wrote state/import/stellaclaw.json: ${data.conversations.length} conversations, ` +
          `${data.channels.length} channels, ${data.cronTasks.length} cron tasks`,
      );
    }
  },
};
