/**
 * The gRPC front for RocketMQ 5 clients (`apache.rocketmq.v2.MessagingService`):
 * run it over a {@linkcode ProxyBackend}. The broker runs it in-process
 * ("local mode", `--grpc-port`).
 *
 * @module
 */

export { GrpcFront, type GrpcFrontOptions } from "./grpc_front.ts";
export { GRPC_BODY_BYTES_MAX } from "./api/front_context.ts";
export type {
  BackendEndTransaction,
  BackendEndTransactionResult,
  BackendFilter,
  BackendHost,
  BackendMessage,
  BackendPullRequest,
  BackendPullResult,
  BackendRecallResult,
  BackendSendResult,
  BackendTopic,
  GroupRetryPolicy,
  ProxyBackend,
  QueueOffsets,
  TransactionCheck,
} from "./domain/backend.ts";
export {
  ACCEPT_ALL,
  type Authorization,
  type AuthorizationHook,
  type AuthorizationRequest,
  parseAuthorization,
} from "./domain/authorization.ts";
