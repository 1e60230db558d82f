import { waitFor, type Actor } from "xstate";
import {
  CODEX_SECRET_NAMES,
  describeBackground,
  hasBackground,
  type Redactor,
  defaultSessionDataDir,
  PROTOCOL_VERSION,
  type ControlResult,
  type EnqueueParams,
  type EnqueueResult,
  type InitializeParams,
  type InitializeResult,
  type QueryResult,
  queryParams,
  type TranscriptMessage,
} from "@starling/protocol";
import { SessionStore } from "../store/session-store.js";
import type { OutboxEntry } from "../store/records.js";
import { createProvider } from "../providers/index.js";
import type { AskCredentials } from "../providers/codex/credentials.js";
import type { ModelProvider } from "../providers/types.js";
import { ToolRuntime } from "../tools/tool-runtime.js";
import { sessionToolOptions } from "../tools/session-toolset.js";
import { HiddenPathReports, type ReportHidden } from "../tools/hidden-reports.js";
import { hostTools } from "../tools/host/host-tools.js";
import type { CoordinateFn } from "../tools/types.js";
import type { McpTools } from "../mcp/mcp-tools.js";
import { buildSystemPrompt } from "../prompt/system-prompt.js";
import { SkillTracker } from "../skills/skill-tracker.js";
import { currentContext, estimateTokens } from "./context-window.js";
import { liveState } from "./live-state.js";
import { COMPACTION_STOPPED } from "@starling/protocol";
import { nothingToCompact } from "./manual-compaction.js";
import type { SessionDeps, SessionLogger, SessionTools } from "./session-deps.js";
import { createSessionActor, type SessionMachine } from "./session-machine.js";
import { TurnJournal } from "./turn-journal.js";
import { ContextWindowMemory } from "./context-window-memory.js";
import { RefusedUrlMemory } from "./refused-url-memory.js";
import { sessionSecrets } from "./session-secrets.js";
import { applySeedHistory } from "./seed-history.js";

export const DEFAULT_STEP_LIMIT = 200;

/** The asker, with each renewed token and account id added to the session's redactor (tool results never show them). */
function learnedBy(redactor: Redactor, ask: AskCredentials): AskCredentials {
  return async (params, signal) => {
    const answer = await ask(params, signal);
    redactor.add(CODEX_SECRET_NAMES.accessToken, answer.accessToken);
    redactor.add(CODEX_SECRET_NAMES.accountId, answer.accountId);
    return answer;
  };
}

export interface SessionOptions {
  init: InitializeParams;
  log: SessionLogger;
  coordinate: CoordinateFn;
  /** Receives every event after it is stored, in seq order. */
  onEvent: (entry: OutboxEntry) => void;
  /** The journal can no longer be trusted by this process (WriteError.fatal): the worker exits so a new one reloads it. */
  onStoreFailed?: (error: unknown) => void;
  env?: NodeJS.ProcessEnv;
  /** Overrides for tests and embedders; by default the catalog tools and the configured provider. */
  tools?: SessionTools;
  provider?: ModelProvider;
  /** An opened journal (`SessionStore.openOn`); by default the LevelDB under `init.dataDir`. */
  store?: SessionStore;
  /** Asks the host for a renewed model sign-in (`model/credentials`: codex_subscription); absent without a host. */
  askCredentials?: AskCredentials;
  /** Hands the host real paths of hidden paths found mid-life (`sandbox/hiddenPaths`); absent without a host. */
  reportHidden?: ReportHidden;
}

/** The session LevelDB when `initialize` names no `dataDir` (protocol's `defaultSessionDataDir`: the host's rule). */
export function defaultDataDir(init: Pick<InitializeParams, "workspace" | "sessionId">): string {
  return defaultSessionDataDir(init.workspace, init.sessionId);
}

/**
 * The highest seq an earlier life of this journal may have sent. Normally the last one stored; but
 * `turn_start` is written without its own fsync, so after a power failure the journal can be back at
 * `enqueue` (inputs queued, no running turn) while the host already processed the lost turn's
 * `turn_started` — which had the next seq. Reporting that seq keeps the host from taking the journal for
 * a reset one (`lastEventSeq` below its processed seq); the turn started again reuses it for the same
 * turn id and inputs, and the host skips it as processed. Read before recovery writes anything.
 */
function seqsMaybeSent(store: SessionStore): number {
  const stored = store.meta.nextSeq - 1;
  const lostStartPossible = store.queue.length > 0 && store.lastTurn?.status !== "running";
  return lostStartPossible ? stored + 1 : stored;
}

/** One agent session: its store, its SessionActor and the requests the protocol maps onto them. */
export class Session {
  private actor: Actor<SessionMachine> | null = null;
  private constructor(
    readonly init: InitializeParams,
    private readonly store: SessionStore,
    private readonly journal: TurnJournal,
    private readonly deps: SessionDeps,
    private readonly tools: SessionTools,
    private readonly recovered: { turnId: number; reason: string } | null,
    private readonly log: SessionLogger,
    private readonly mcp: McpTools | null,
    /** Seqs up to this may have been sent by an earlier life (see `seqsMaybeSent`). */
    private readonly sentSeqFloor: number,
    private readonly hiddenReports: HiddenPathReports | undefined,
  ) {}

  /** Opens the store, rebuilds the session from its journal and recovers an unfinished turn. The actor is not started yet. */
  static async open(options: SessionOptions): Promise<Session> {
    const { init } = options;
    // The provider is built first: a config it cannot serve must fail before the database is locked.
    const secrets = sessionSecrets(init, options.env ?? process.env);
    const providerOptions = { sessionId: init.sessionId, ...(options.askCredentials ? { askCredentials: learnedBy(secrets.redactor, options.askCredentials) } : {}) };
    const provider = options.provider ?? createProvider(init.model, secrets.providerEnv, providerOptions);
    const store = options.store ?? (await SessionStore.open(init.dataDir ?? defaultDataDir(init)));
    store.onEvent(options.onEvent);
    store.onWriteError(({ point, attempt, willRetry, delayMs, err, fatal }) => {
      const fields = { point, attempt, err: err instanceof Error ? err.message : String(err) };
      if (willRetry) options.log.warn({ ...fields, delayMs }, "a session database write failed; retrying");
      else options.log.error(fields, "a session database write failed; giving up on this write");
      if (fatal) options.onStoreFailed?.(err);
    });
    const toolset = sessionToolOptions(init, secrets.providerEnv, providerOptions);
    const hiddenReports = options.reportHidden && new HiddenPathReports(init.sandbox?.hiddenPaths ?? [], options.reportHidden);
    // The MCP client (and its SDK) is loaded only by sessions that have MCP servers.
    const mcp =
      !options.tools && init.mcpServers && Object.keys(init.mcpServers).length
        ? new (await import("../mcp/mcp-tools.js")).McpTools({
            servers: init.mcpServers,
            workspace: init.workspace,
            sessionId: init.sessionId,
            sandbox: init.sandbox,
            secrets,
            secretEnv: secrets.providerEnv,
            hiddenReports,
          })
        : null;
    const tools =
      options.tools ??
      new ToolRuntime({
        workspace: init.workspace,
        sessionId: init.sessionId,
        coordinate: options.coordinate,
        deny: init.toolDeny,
        ...toolset,
        tools: [...toolset.tools, ...hostTools(init.sessionType, init.hostActions)],
        remote: init.remote,
        sandbox: init.sandbox,
        secrets,
        redactor: secrets.redactor,
        sources: mcp ? [mcp] : undefined,
        hiddenReports,
      });
    const window = new ContextWindowMemory(store, provider.config);
    const refusedUrls = new RefusedUrlMemory(store);
    const journal = new TurnJournal(store, (name) => tools.isReadOnly(name), window, refusedUrls);
    const seeded = await applySeedHistory(store, init.seedHistory);
    if (seeded) options.log.info({ messages: seeded }, "session started with the seed history it was given");
    const sentSeqFloor = seqsMaybeSent(store);
    const recovered = await journal.recover();
    const toolNames = tools.catalog().map((t) => t.name);
    const skills = new SkillTracker(init.workspace, tools.openFile?.bind(tools));
    await skills.refresh();
    const compression = init.compression
      ? { thresholdTokens: init.compression.thresholdTokens, retainRecentTokens: init.compression.retainRecentTokens }
      : null;
    const deps: SessionDeps = {
      store,
      journal,
      tools,
      provider,
      workspace: init.workspace,
      systemPrompt: () =>
        buildSystemPrompt({
          workspace: init.workspace,
          sessionType: init.sessionType,
          toolNames,
          extra: init.systemPromptExtra,
          remote: init.remote,
          skills: skills.snapshot,
        }),
      turnNotice: () => skills.beforeTurn(store.messages),
      stepLimit: init.stepLimit ?? DEFAULT_STEP_LIMIT,
      compression,
      window,
      refusedUrls,
      streamDeltas: init.streamDeltas ?? false,
      log: options.log,
    };
    return new Session(init, store, journal, deps, tools, recovered, options.log, mcp, sentSeqFloor, hiddenReports);
  }

  summary(): InitializeResult {
    const unfinished = this.recovered ?? (this.journal.isUnfinished() ? this.unfinishedOfLastTurn() : null);
    return {
      protocolVersion: PROTOCOL_VERSION,
      sessionId: this.init.sessionId,
      historyLength: this.store.messages.length,
      nextTurnId: this.store.meta.nextTurnId,
      lastEventSeq: Math.max(this.store.meta.nextSeq - 1, this.sentSeqFloor),
      lastAckedSeq: this.store.meta.lastAckedSeq,
      unfinishedTurn: unfinished,
      queuedInputs: this.store.queue.length,
    };
  }

  /** Starts the SessionActor. Queued inputs from before a restart start a turn at once. */
  start(onCrash: (error: unknown) => void): void {
    const actor = createSessionActor(this.deps);
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.matches("crashed")) onCrash(new Error("session runtime crashed"));
      },
      error: (err) => onCrash(err),
    });
    this.actor = actor;
    actor.start();
  }

  /** Stores the message (once per messageId) and only then acknowledges it. */
  async enqueue(params: EnqueueParams): Promise<EnqueueResult> {
    const { ackUpTo } = params;
    // An acknowledgement carried by the message goes into the message's own batch (no write of its own).
    const acked = (): { lastAckedSeq?: number } => (ackUpTo === undefined ? {} : { lastAckedSeq: this.store.meta.lastAckedSeq });
    if (await this.store.seen(params.messageId)) {
      if (ackUpTo !== undefined) await this.ackEvents(ackUpTo);
      return { accepted: true, duplicate: true, ...acked() };
    }
    // Checked again inside the serialised commit: two concurrent enqueues of one messageId both pass
    // the check above, and only the first may queue it.
    const queued = await this.store.commit("enqueue", (tx) => {
      if (ackUpTo !== undefined) tx.acknowledge(ackUpTo);
      if (this.store.knows(params.messageId)) return false;
      tx.enqueue({ messageId: params.messageId, kind: params.kind, message: params.message, receivedAt: new Date().toISOString() });
      return true;
    });
    const ack = acked();
    if (!queued) return { accepted: true, duplicate: true, ...ack };
    const actor = this.actor;
    actor?.send({ type: "INPUT", interrupt: params.kind === "user" });
    // A message that starts a turn is answered once the turn's start is stored and `turn_started` sent:
    // both frames then leave in one write and wake the host once (ARCHITECTURE §3, `session/enqueue`).
    if (actor?.getSnapshot().matches("starting")) await waitFor(actor, (snapshot) => !snapshot.matches("starting")).catch(() => undefined);
    return { accepted: true, duplicate: false, ...ack };
  }

  async cancel(reason?: string): Promise<ControlResult> {
    const actor = this.requireActor();
    await this.waitWhileStarting(actor);
    if (actor.getSnapshot().matches("compacting")) {
      // Only the compaction /compact started stops (its summary request is aborted; the history stays as it was).
      actor.send({ type: "CANCEL", reason });
      return { accepted: false, reason: COMPACTION_STOPPED };
    }
    if (!actor.getSnapshot().can({ type: "CANCEL", reason })) {
      // What an earlier turn left running in the background (a watcher, a daemon, a download) stops too.
      const left = this.tools.background?.();
      const stopped = await this.tools.killAll();
      const what = left ? (hasBackground(left) ? describeBackground(left) : "") : stopped ? `${stopped} ${stopped === 1 ? "command or download" : "commands or downloads"}` : "";
      return { accepted: false, reason: `nothing to cancel: no turn is running${what ? ` (stopped ${what} left running in the background)` : ""}` };
    }
    actor.send({ type: "CANCEL", reason });
    return { accepted: true };
  }

  /** `session/cancel` with `endUnfinished`: ends that unfinished turn for good (see CancelParams). */
  async endUnfinished(turnId: number, reason?: string): Promise<ControlResult> {
    const actor = this.requireActor();
    await this.waitWhileStarting(actor);
    const last = this.store.lastTurn;
    if (!last || last.turnId !== turnId || !this.journal.isUnfinished(last)) {
      const now = last?.turnId === turnId ? `it is ${last.status}` : `the last turn is ${last ? `turn ${last.turnId}` : "none"}`;
      return { accepted: false, reason: `turn ${turnId} is not waiting for a continue (${now})` };
    }
    if (!actor.getSnapshot().can({ type: "END_UNFINISHED", turnId, reason })) {
      return { accepted: false, reason: `turn ${turnId} is not waiting for a continue (the session is busy)` };
    }
    actor.send({ type: "END_UNFINISHED", turnId, reason });
    return { accepted: true };
  }

  async continue(reason?: string): Promise<ControlResult> {
    const actor = this.requireActor();
    await this.waitWhileStarting(actor);
    const snapshot = actor.getSnapshot();
    if (snapshot.matches("turn")) return { accepted: false, reason: "a turn is already running" };
    if (!snapshot.can({ type: "CONTINUE", reason })) {
      return { accepted: false, reason: "nothing to continue: the last turn finished" };
    }
    actor.send({ type: "CONTINUE", reason });
    return { accepted: true };
  }

  /** `session/compact`: compacts the history now, while the session rests; the outcome comes as `manual_compaction`. */
  async compact(): Promise<ControlResult> {
    const actor = this.requireActor();
    await this.waitWhileStarting(actor);
    const snapshot = actor.getSnapshot();
    if (snapshot.matches("compacting")) return { accepted: false, reason: "a compaction is already running" };
    if (snapshot.matches("turn")) return { accepted: false, reason: "a turn is running (send /compact once it has ended)" };
    const last = this.store.lastTurn;
    if (last && this.journal.isUnfinished(last)) return { accepted: false, reason: `turn ${last.turnId} is unfinished (send /continue to finish it first)` };
    if (!snapshot.can({ type: "COMPACT" })) return { accepted: false, reason: "the session is busy (try again in a moment)" };
    const nothing = nothingToCompact(this.deps);
    if (nothing) return { accepted: false, reason: nothing };
    actor.send({ type: "COMPACT" });
    return { accepted: true };
  }

  query(raw: unknown): QueryResult {
    const params = queryParams().parse(raw);
    switch (params.view) {
      case "live_state": {
        const state = liveState(this.requireActor().getSnapshot(), this.store, this.journal);
        const background = params.background ? { background: this.tools.background?.() ?? { commands: 0, jobs: 0 } } : {};
        return { ...state, ...(this.mcp ? { mcp: this.mcp.status() } : {}), ...background };
      }
      case "transcript_page": {
        const source: TranscriptMessage[] =
          params.source === "current" ? currentContext(this.store.messages, this.store.compaction) : this.store.messages;
        return {
          view: "transcript_page",
          source: params.source,
          total: source.length,
          offset: params.offset,
          messages: source.slice(params.offset, params.offset + params.limit),
        };
      }
      case "message_detail": {
        const message = this.store.messages[params.index];
        if (!message) throw new RangeError(`message_detail: no message at index ${params.index} (history has ${this.store.messages.length})`);
        return { view: "message_detail", message };
      }
      case "usage": {
        const u = this.store.meta.usage;
        return {
          view: "usage",
          total: { inputTokens: u.inputTokens, outputTokens: u.outputTokens, cachedTokens: u.cachedTokens },
          turns: u.turns,
          lastTurn: this.store.meta.lastTurnUsage,
          contextTokensEstimate: estimateTokens(currentContext(this.store.messages, this.store.compaction)),
        };
      }
    }
  }

  async ackEvents(upTo: number): Promise<number> {
    await this.store.commit("ack_events", (tx) => tx.acknowledge(upTo));
    return this.store.meta.lastAckedSeq;
  }

  /** Durable events not yet acknowledged, oldest first (re-sent after a restart). */
  unacknowledged(): Promise<OutboxEntry[]> {
    return this.store.outbox();
  }

  /** Stops work (the running turn stays recoverable), kills child processes and closes the store. */
  async shutdown(): Promise<void> {
    const actor = this.actor;
    const { control, compactRun } = actor?.getSnapshot().context ?? {};
    // Jobs stopped from here on were interrupted by the shutdown (their next worker says so), not cancelled.
    this.tools.beforeShutdown?.();
    actor?.send({ type: "SHUTDOWN" });
    await this.tools.killAll();
    await this.mcp?.dispose();
    if (control) await Promise.race([control.idle(), new Promise((r) => setTimeout(r, 2000))]);
    // A compaction /compact started stores that it was stopped (the chat is told to ask again) before the store closes.
    if (compactRun) await Promise.race([compactRun.done.catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
    actor?.stop();
    this.hiddenReports?.dispose();
    await this.store.close();
  }

  private unfinishedOfLastTurn() {
    const t = this.store.lastTurn!;
    return { turnId: t.turnId, reason: t.unfinishedReason ?? t.status };
  }

  private requireActor(): Actor<SessionMachine> {
    if (!this.actor) throw new Error("session not started");
    return this.actor;
  }

  private async waitWhileStarting(actor: Actor<SessionMachine>): Promise<void> {
    await waitFor(actor, (s) => !s.matches("starting") && !s.matches("resuming"), { timeout: 10_000 }).catch(() => undefined);
  }
}

