/**
 * Composition of the operations features (part of the composition root, kept
 * apart from `broker.ts` to keep it readable): access control in front of the
 * router, the subscription group table with its consumeEnable gate, the
 * run-time config, broker stats, and their admin controllers.
 *
 * @module
 */

import { isOneway } from "../client/protocol/remoting_command.ts";
import { createResponse, type RemotingCommand } from "../client/protocol/remoting_command.ts";
import { RequestCode } from "../client/protocol/request_code.ts";
import { ResponseCode } from "../client/protocol/response_code.ts";
import type { MessageStore } from "../store/mod.ts";
import { AclController } from "./api/acl_controller.ts";
import { guardWithAcl } from "./api/acl_guard.ts";
import { BrokerConfigController } from "./api/broker_config_controller.ts";
import type { BrokerResponse, Channel } from "./api/broker_context.ts";
import { SubscriptionGroupController } from "./api/subscription_group_controller.ts";
import type { BrokerConfig } from "./config.ts";
import { AccessValidator } from "./domain/acl/access_validator.ts";
import { AclFailureLog } from "./domain/acl/acl_failure_log.ts";
import type { Clock } from "./domain/clock.ts";
import { RuntimeBrokerConfig } from "./domain/runtime_config.ts";
import { SubscriptionGroupTable } from "./domain/subscription_group_table.ts";
import { AclFileEditor } from "./infra/acl_file_editor.ts";
import { AclFileWatcher, readAclFile } from "./infra/acl_file.ts";
import { BrokerStats } from "./metrics/broker_stats.ts";
import type { RemotingMetrics } from "./metrics/remoting_metrics.ts";
import type { LogSink, RequestRouter } from "./server/request_router.ts";

/** The router's dispatch signature. */
type Dispatch = (
  request: RemotingCommand,
  channel: Channel,
) => BrokerResponse | undefined | Promise<BrokerResponse | undefined>;

/** Access control objects, when `--acl-file` is set. */
export interface AclParts {
  readonly validator: AccessValidator;
  readonly failures: AclFailureLog;
}

/** What {@linkcode prepareOperations} builds before the server exists. */
export interface PreparedOperations {
  /** The dispatch to give the server: ACL and group gates, then the router. */
  readonly dispatch: Dispatch;
  /** The run-time config holder (the context's `config` reads it). */
  readonly runtime: RuntimeBrokerConfig;
  /** Access control, undefined when off. */
  readonly acl: AclParts | undefined;
  /** Loads the tables, registers the controllers, starts the watchers and samplers. */
  start(deps: {
    readonly store: MessageStore;
    readonly router: RequestRouter;
    readonly remoting: RemotingMetrics;
  }): Promise<StartedOperations>;
}

/** What {@linkcode PreparedOperations.start} returns. */
export interface StartedOperations {
  /** Per-group attempts before the DLQ (for send-back). */
  groupRetryMaxTimes(group: string): number | undefined;
  /** Whether a group consumes in order (`consumeMessageOrderly`; the gRPC front's FIFO setting). */
  groupOrderly(group: string): boolean;
  /** Stop watchers and samplers. */
  close(): void;
}

/**
 * Build the parts that must exist before the server: the dispatch chain and
 * the run-time config. Reads the ACL file when set.
 *
 * @param options Config, router, clock, log and the ACL reload interval.
 * @returns The prepared operations.
 * @throws {TypeError} If the ACL file cannot be read or is invalid.
 */
export async function prepareOperations(options: {
  readonly config: BrokerConfig;
  readonly router: RequestRouter;
  readonly clock: Clock;
  readonly log: LogSink;
  readonly aclReloadCheckIntervalMs?: number;
}): Promise<PreparedOperations> {
  const { config, router, clock, log } = options;
  const runtime = new RuntimeBrokerConfig(config);
  let groups: SubscriptionGroupTable | undefined;
  // A group whose consumeEnable is false may not pull (RocketMQ answers NO_PERMISSION too).
  let dispatch: Dispatch = (request, channel) => {
    if (request.code === RequestCode.PULL_MESSAGE && groups !== undefined) {
      const group = request.extFields?.consumerGroup;
      if (group !== undefined && groups.get(group)?.consumeEnable === false) {
        return isOneway(request) ? undefined : createResponse(
          request,
          ResponseCode.NO_PERMISSION,
          `Subscription group ${group} may not consume (consumeEnable is false)`,
        );
      }
    }
    return router.dispatch(request, channel);
  };
  let acl: AclParts | undefined;
  if (config.aclFile !== "") {
    const loaded = await readAclFile(config.aclFile);
    if (!loaded.ok) throw new TypeError(loaded.error);
    acl = {
      validator: new AccessValidator(loaded.config),
      failures: new AclFailureLog(log, () => clock.nowMs()),
    };
    dispatch = guardWithAcl(dispatch, acl.validator, acl.failures);
  }
  const start = async (deps: Parameters<PreparedOperations["start"]>[0]) => {
    const table = new SubscriptionGroupTable(deps.store, () => clock.nowMs());
    await table.load();
    groups = table;
    const stats = new BrokerStats(deps.remoting, clock);
    stats.start();
    let watcher: AclFileWatcher | undefined;
    let editor: AclFileEditor | undefined;
    if (acl !== undefined) {
      const validator = acl.validator;
      watcher = await AclFileWatcher.start({
        path: config.aclFile,
        onReload: (reloaded) => validator.update(reloaded),
        log,
        reloadCheckIntervalMs: options.aclReloadCheckIntervalMs,
      });
      editor = new AclFileEditor(config.aclFile, (changed) => validator.update(changed));
    }
    deps.router.register(new SubscriptionGroupController(table, deps.store).handlers());
    deps.router.register(new BrokerConfigController(runtime, stats, log).handlers());
    deps.router.register(new AclController(editor).handlers());
    return {
      groupRetryMaxTimes: (group: string) => {
        const max = table.get(group)?.retryMaxTimes;
        return max === undefined || max < 0 ? undefined : max;
      },
      groupOrderly: (group: string) => table.get(group)?.consumeMessageOrderly === true,
      close: () => {
        stats.close();
        watcher?.close();
      },
    };
  };
  return { dispatch, runtime, acl, start };
}
