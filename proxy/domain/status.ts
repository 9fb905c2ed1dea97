/**
 * `Status` values for responses: every answer carries one (the gRPC status
 * itself stays OK), with codes from `definition.proto`.
 *
 * @module
 */

import { create } from "@bufbuild/protobuf";
import { Code, type Status, StatusSchema } from "../gen/apache/rocketmq/v2/definition_pb.ts";

/** `Status{OK}`. */
export function okStatus(): Status {
  return create(StatusSchema, { code: Code.OK, message: "OK" });
}

/**
 * A status with a code and a message.
 *
 * @param code The code.
 * @param message What went wrong, for the client's logs.
 * @returns The status.
 */
export function status(code: Code, message: string): Status {
  return create(StatusSchema, { code, message });
}

export { Code };
