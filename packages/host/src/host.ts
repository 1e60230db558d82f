import { join } from "node:path";
import type pino from "pino";
import { IdleCollector, type CredentialsParams, type ModelConfig } from "@starling/protocol";
import { upgradeWorkdir } from "@starling/workdir-migrations";
import { secretValues, type StarlingConfig } from "@starling/config";
import type { Channel } from "./channels/channel.js";
import { createTelegramChannel } from "./channels/telegram/telegram-channel.js";
import { NO_SEND_LIMITS } from "./channels/telegram/send-budget.js";
import { ConversationService } from "./conversations/conversation-service.js";
import { ActivityRelay, writeContinueRefusedNotice, writeEventReplies, writeGiveUpNotice } from "./conversations/event-replies.js";
import { TurnAnswers } from "./conversations/turn-answers.js";
import { buildLaunch, spareLaunch } from "./conversations/launch.js";
import { HiddenPathLedger } from "./security/hidden-path-ledger.js";
import type { HostSettings } from "./conversations/settings.js";
import { resolveToolModels } from "./conversations/tool-models.js";
import { handleCoordinate, pruneCallRecords } from "./conversations/coordinate.js";
import { cronNow } from "./cron/cron-clock.js";
import { CronRunner } from "./cron/cron-runner.js";
import { agentOfSession } from "./agents/agent-store.js";
import { taskOfSession } from "./cron/cron-store.js";
import { applyStellaclawImport } from "./import/stellaclaw-import.js";
import { SessionSupervisor } from "./sessions/supervisor.js";
import { restartPolicyFromEnv } from "./sessions/backoff.js";
import { workerAnswerMsFromEnv } from "./sessions/answer-deadline.js";
import { HostStore } from "./state/host-store.js";
import type { OutboundItem } from "./state/records.js";
import { createHostLogger } from "./logger.js";
import { adoptHostSecrets, hostRedactor } from "./security/host-secrets.js";
import { CodexAuthority, codexAuthCandidates } from "./models/codex-auth.js";
import { requireWorkingSandbox } from "./security/sandbox-check.js";
import { secretFilePaths } from "./security/worker-security.js";
import { workerCommand, workerStartWarning } from "./worker-path.js";
import { withheldNodeOptionsWarning, workerNodeOptions } from "./worker-node-options.js";
import { AuditLog, auditRotation, auditTargets } from "./audit/audit-log.js";
import { StoreHealth, storeHealthFile } from "./state/store-health.js";
import { noteBoot } from "./state/boot.js";

export interface RunningHost {
  store: HostStore;
  supervisor: SessionSupervisor;
  conversations: ConversationService;
  channels: Map<string, Channel>;
  log: pino.Logger;
  /** Graceful stop: no new updates, workers checkpoint and exit, outbox flushed. */
  stop(): Promise<void>;
}

const codexModel = (config: StarlingConfig) => Object.values(config.models).find((m) => m.provider_type === "codex_subscription");
const hasCodexModel = (config: StarlingConfig): boolean => codexModel(config) !== undefined;

/** The ChatGPT sign-in owner when a model is codex_subscription (read on the first codex session's start). */
function codexAuthority(config: StarlingConfig, env: NodeJS.ProcessEnv): { codexAuth?: CodexAuthority } {
  const codex = codexModel(config);
  if (!codex) return {};
  const timeoutMs = Math.max(1, codex.conn_timeout ?? 120) * 1000;
  return {
    codexAuth: new CodexAuthority(env, {
      ...(codex.api_key_env ? { apiKeyEnv: codex.api_key_env } : {}),
      timeoutMs,
      learned: (name, value) => hostRedactor().add(name, value),
    }),
  };
}

export function hostSettings(config: StarlingConfig, workdir: string, env: NodeJS.ProcessEnv, secretFiles: readonly string[] = []): HostSettings {
  const chatModels: Record<string, ModelConfig> = {};
  for (const [alias, model] of Object.entries(config.models)) {
    if (model.capabilities.includes("chat")) chatModels[alias] = model;
  }
  const d = config.session_defaults;
  return {
    workdir,
    chatModels,
    ...(config.default_profile?.main_model !== undefined ? { defaultModel: config.default_profile.main_model } : {}),
    helperModels: resolveToolModels(config),
    compression:
      d?.compression_threshold_tokens !== undefined
        ? { thresholdTokens: d.compression_threshold_tokens, retainRecentTokens: d.compression_retain_recent_tokens ?? 0 }
        : null,
    sandbox: {
      mode: config.sandbox.mode,
      bubblewrapBinary: config.sandbox.bubblewrap_binary,
      softwareDir: config.sandbox.software_dir,
      softwareMountPath: config.sandbox.software_mount_path,
      network: config.sandbox.network,
      pidNamespace: config.sandbox.pid_namespace,
      env: config.sandbox.env,
      limits: {
        ...(config.sandbox.memory_limit_mb === null ? {} : { memoryMb: config.sandbox.memory_limit_mb }),
        ...(config.sandbox.cpu_limit_seconds === null ? {} : { cpuSeconds: config.sandbox.cpu_limit_seconds }),
        ...(config.sandbox.file_size_limit_mb === null ? {} : { fileSizeMb: config.sandbox.file_size_limit_mb }),
      },
      // A ChatGPT sign-in (auth.json) is as secret as the env file, wherever CODEX_HOME puts it.
      // sandbox.hidden_paths as written: the worker masks each one by its real path whenever it exists.
      hiddenPaths: [
        ...secretFilePaths([...secretFiles, ...(hasCodexModel(config) ? codexAuthCandidates(env).map((c) => c.path) : [])]),
        ...config.sandbox.hidden_paths,
      ],
    },
    ...codexAuthority(config, env),
    secrets: secretValues(config, env),
    // The snapshot probe runs under what workers get (workerEnvironment): no preloads, no inspector.
    workerCommand: workerCommand(config.agent_server?.path, workerNodeOptions(env.NODE_OPTIONS).value),
    toolDeny: config.tools.deny,
    webPrivateNetworks: config.tools.web_private_networks,
    limits: { perChatMessagesPerMinute: config.limits.per_chat_messages_per_minute, maxQueuedTurns: config.limits.max_queued_turns },
    maxSubagents: config.workers.max_subagents,
    workerEnv: workerFaultEnv(env),
    mcpServers: config.mcp_servers,
  };
}

/**
 * Starts the host: workdir upgrade, host database, supervisor, conversations, channels. `secretFiles`
 * (the config and env file the CLI read) are hidden from tools in the bubblewrap sandbox.
 */
export async function startHost(config: StarlingConfig, workdir: string, env = process.env, secretFiles: readonly string[] = []): Promise<RunningHost> {
  const restart = restartPolicyFromEnv(env); // test-only knob; a bad value stops the start here
  const workerAnswerMs = workerAnswerMsFromEnv(env); // test-only knob, likewise
  cronNow(); // so does a bad cron test clock (STARLING_TEST_CRON_CLOCK_FILE), which cron reads from process.env
  // Upgrade first: the logger creates logs/, which would make a fresh workdir look like an old one.
  const upgrade = await upgradeWorkdir(workdir);
  // Secrets are read once, here; then they leave this process's environment (docs/SECURITY.md).
  const settings = hostSettings(config, workdir, env, secretFiles);
  const redactor = adoptHostSecrets(settings.secrets ?? {});
  const log = createHostLogger({ workdir, level: config.log.level, file: config.log.file ?? undefined, redactor });
  if (upgrade.applied.length) log.info({ upgrade }, "workdir upgraded");
  const withheldNote = withheldNodeOptionsWarning(env.NODE_OPTIONS);
  if (withheldNote) log.warn(withheldNote);
  const startNote = workerStartWarning();
  if (startNote) log.warn(startNote);
  await requireWorkingSandbox(config.sandbox.mode, config.sandbox.bubblewrap_binary, config.sandbox.network);
  const store = await HostStore.open(join(workdir, "state", "host"));
  const storeLog = log.child({ component: "store" });
  store.health = new StoreHealth(storeHealthFile(workdir), (level, line, fields) => storeLog[level](fields, line));
  store.health.start();
  const marked = await noteBoot(store);
  const hiddenLedger = new HiddenPathLedger(store, workdir, (message, fields) => log.warn(fields, message));
  if (marked) storeLog.warn({ items: marked }, "the machine restarted since the last start: outbox items will be re-sent labelled as possible duplicates");
  const channels = new Map<string, Channel>();
  // Records come only from a started supervisor's events, when `conversations` exists.
  const audit = new AuditLog(workdir, redactor, (sessionId) => auditTargets(settings, conversations.conversationOfSession(sessionId)), log.child({ component: "audit" }), auditRotation(config.log.audit));
  // Built in dependency order: the supervisor's hooks call back into the conversation service, so the
  // service builds it (with the relay the hooks use) in its constructor.
  const conversations = new ConversationService(
    store,
    settings,
    (service) => {
      const relay = new ActivityRelay(service, channels);
      const answers = new TurnAnswers();
      const supervisorLog = log.child({ component: "supervisor" });
      // A background agent's or cron task's own model (start_background_agent / create_cron_task {model}); a
      // task whose alias left the config since runs on the conversation's model, said in the log.
      const sessionModel = (sessionId: string): string | undefined => {
        const agentModel = agentOfSession(store, sessionId)?.model;
        if (agentModel) return agentModel;
        const task = taskOfSession(store, sessionId);
        if (!task?.model) return undefined;
        if (settings.chatModels[task.model]) return task.model;
        supervisorLog.warn({ sessionId, task: task.id, model: task.model }, "the cron task's model is no longer a chat model of this host; the run uses the conversation's model");
        return undefined;
      };
      return new SessionSupervisor({
        store,
        log: supervisorLog,
        maxConcurrentTurns: config.workers.max_concurrent_turns,
        idleShutdownSeconds: config.workers.idle_shutdown_seconds,
        warmSpares: config.workers.warm_spares,
        spareLaunch: async () => spareLaunch(settings),
        maxAutoContinues: config.recovery.max_auto_continues,
        ...(restart ? { restart } : {}),
        ...(workerAnswerMs ? { workerAnswerMs } : {}),
        launch: async (sessionId) => {
          const conversation = service.conversationOfSession(sessionId);
          if (!conversation) throw new Error(`no conversation for session ${sessionId}`);
          await service.workspaceReady(conversation.id);
          const launch = buildLaunch(settings, conversation, sessionId, service.sessionTypeOf(sessionId), sessionModel(sessionId));
          // Where hidden paths led at earlier worker starts stays hidden for this worker too (a link repointed since).
          if (launch.init.sandbox) launch.init.sandbox.hiddenPaths = await hiddenLedger.withRemembered(launch.init.sandbox.hiddenPaths);
          // Channels that show text as it is written (web) get deltas of the chat's own session.
          if (channels.get(conversation.channelId)?.assistantDelta && sessionId === conversation.foreground.sessionId) launch.init.streamDeltas = true;
          return launch;
        },
        onDurableEvent: (event, tx, ctx) => {
          writeEventReplies(service, event, tx, ctx, answers);
          relay.recordEnd(ctx.sessionId, event, tx);
        },
        onGiveUp: (sessionId, failures, lastError, tx) => writeGiveUpNotice(service, sessionId, failures, lastError, tx),
        onContinueRefused: (sessionId, reason, tx) => writeContinueRefusedNotice(service, sessionId, reason, tx),
        // A cron task's session: a chat's /continue goes to its foreground. (A background agent's turn that
        // gives up fails the agent instead: agents/agent-events.ts.)
        unattended: (sessionId) => service.sessionTypeOf(sessionId) === "background" && !agentOfSession(store, sessionId),
        onActivity: (sessionId, event) => {
          audit.onEvent(sessionId, event);
          relay.relay(sessionId, event);
        },
        ...(settings.codexAuth ? { credentials: (params: CredentialsParams) => settings.codexAuth!.credentials(params) } : {}),
        // Real paths a worker found mid-life (a link repointed while it ran): kept for later workers like a start's.
        hiddenPaths: async (params) => ({ kept: await hiddenLedger.reported(settings.sandbox.hiddenPaths ?? [], params.found) }),
        coordinate: (sessionId, params, callerGone) =>
          handleCoordinate(service, sessionId, params, { planChanged: (id, turnId) => relay.planChanged(id, turnId), callerGone }),
      });
    },
    log.child({ component: "conversations" }),
  );
  const supervisor = conversations.supervisor;
  // Every admitted update, turn event and delivery is a commit, so no commit for 5 s is a quiet host. A
  // flood of 1 000 chats left ~30 MB of garbage in V8's old space (host VmRSS 138 MB) that stayed
  // until the next flood; collected, it goes back (docs/PERFORMANCE.md "Host memory after a flood").
  const idleGc = new IdleCollector({ quietMs: 5000, growthBytes: 4 * 1024 * 1024 });
  store.subscribe("", () => idleGc.activity());
  // A commit that queues a chat message wakes that channel's sender (a send attempt's own write does not).
  store.subscribe("outbound:", (changes) => {
    for (const { value } of changes) {
      const item = value as OutboundItem | undefined;
      if (item && !item.attemptedAt) channels.get(item.channelId)?.wakeOutbox();
    }
  });

  for (const channelConfig of config.channels) {
    if (channelConfig.kind === "web") {
      const token = settings.secrets?.[channelConfig.token_env];
      if (!token) throw new Error(`channels.${channelConfig.id}.token_env: environment variable ${channelConfig.token_env} is not set`);
      const models = () => Object.entries(settings.chatModels).map(([alias, m]) => ({ alias, model: m.model_name }));
      const channelLog = log.child({ component: "web", channel: channelConfig.id });
      // Loaded only for a web channel: fastify and the page are ~30 ms of every host start otherwise.
      const { WebChannel } = await import("./channels/web/web-channel.js");
      channels.set(channelConfig.id, new WebChannel({ id: channelConfig.id, bindAddr: channelConfig.bind_addr, token, workdir, store, log: channelLog, models }));
      continue;
    }
    const token = settings.secrets?.[channelConfig.bot_token_env];
    if (!token) throw new Error(`channels.${channelConfig.id}.bot_token_env: environment variable ${channelConfig.bot_token_env} is not set`);
    channels.set(
      channelConfig.id,
      createTelegramChannel({
        id: channelConfig.id,
        token,
        apiBaseUrl: channelConfig.api_base_url,
        pollTimeoutSeconds: channelConfig.poll_timeout_seconds,
        pollIntervalMs: channelConfig.poll_interval_ms,
        ...(channelConfig.pace_sends ? {} : { sendLimits: NO_SEND_LIMITS }),
        adminUserIds: channelConfig.admin_user_ids.map(String),
        allowedChatIds: channelConfig.allowed_chat_ids.map(String),
        groupTrigger: channelConfig.group_trigger,
        panelDelayMs: channelConfig.progress_panel_delay_ms,
        store,
        log: log.child({ component: "telegram", channel: channelConfig.id }),
      }),
    );
  }
  await applyStellaclawImport(store, settings, [...channels.keys()], log.child({ component: "import" }));
  await pruneCallRecords(conversations);
  const cron = new CronRunner(conversations);
  supervisor.start();
  cron.start();
  for (const channel of channels.values()) await channel.start(conversations);
  log.info({ workdir, channels: [...channels.keys()], models: Object.keys(settings.chatModels) }, "starling host started");

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      log.info("shutting down");
      cron.stop();
      idleGc.stop();
      // Workers checkpoint first (messages admitted meanwhile are durable and wait for the next start);
      // then each channel stops polling and flushes the outbox, replies of the last turns included.
      await supervisor.stop(8000);
      audit.close();
      await Promise.allSettled([...channels.values()].map((c) => c.stop()));
      await store.close();
      store.health?.stop();
      log.info("stopped");
      log.flush();
    })());
  return { store, supervisor, conversations, channels, log, stop };
}

/** Test knobs passed on to workers: STARLING_WORKER_CRASH_AT / _FAIL_AT become the worker's STARLING_CRASH_AT / _FAIL_AT. */
function workerFaultEnv(env: NodeJS.ProcessEnv): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (env.STARLING_WORKER_CRASH_AT) out.STARLING_CRASH_AT = env.STARLING_WORKER_CRASH_AT;
  if (env.STARLING_WORKER_FAIL_AT) out.STARLING_FAIL_AT = env.STARLING_WORKER_FAIL_AT;
  return Object.keys(out).length ? out : undefined;
}
