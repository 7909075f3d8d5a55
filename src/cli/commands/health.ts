/** `health [SERVICE]`: grpc.health.v1 Check, with grpc_health_probe's exit codes. */
import type { Command } from "commander";
import { type ServiceError, connectivityState, status as GrpcStatus } from "@grpc/grpc-js";
import { SrError } from "../../../clients/ts/index.js";
import { type HealthCheckResponse, HealthCheckResponse_ServingStatus, healthCheckResponse_ServingStatusToJSON } from "../../../gen/ts/health/v1/health.js";
import { metadataOf } from "../connect.js";
import { type Context, examples, run } from "../context.js";
import { CliError, HEALTH_EXIT, isNoConnection } from "../exit.js";
import { render } from "../output.js";

function checkHealth(ctx: Context, service: string): Promise<HealthCheckResponse> {
  return new Promise((resolve, reject) => {
    ctx.health().check({ service }, metadataOf(ctx.options), { deadline: Date.now() + ctx.call.timeoutMs }, (error: ServiceError | null, answer) => {
      // A deadline before any connection was made is grpc_health_probe's "failed to connect" (2), after one a failed call (3).
      if (error?.code === GrpcStatus.DEADLINE_EXCEEDED && ctx.health().getChannel().getConnectivityState(false) !== connectivityState.READY) {
        reject(new CliError(`cannot connect to ${ctx.options.server}: ${error.details}`, HEALTH_EXIT.noConnection));
      } else if (error) reject(SrError.from(error));
      else resolve(answer);
    });
  });
}

async function health(ctx: Context, [service]: (string | undefined)[]): Promise<number> {
  const name = service ?? "";
  const answer = await checkHealth(ctx, name);
  const serving = answer.status === HealthCheckResponse_ServingStatus.SERVING;
  const text = healthCheckResponse_ServingStatusToJSON(answer.status);
  const shown = serving ? ctx.paint.ready(text) : ctx.paint.notReady(text);
  ctx.out(render(ctx.format, { service: name, status: text }, () => `${name === "" ? "(server)" : name}: ${shown}\n`));
  return serving ? HEALTH_EXIT.serving : HEALTH_EXIT.notServing;
}

function exitOf(error: unknown): number {
  if (isNoConnection(error)) return HEALTH_EXIT.noConnection;
  return HEALTH_EXIT.failed;
}

export function healthCommand(program: Command): void {
  examples(
    program
      .command("health")
      .summary("grpc.health.v1 Check: exit 0 serving, 4 not serving, 3 unknown or failed, 2 no connection")
      .description(
        "Checks SERVICE over grpc.health.v1: none (or sr.v1.StatusReportService) is the server itself, GROUP the group aggregated,\n" +
          "GROUP/IDENTIFIER one identifier. Exit codes as grpc_health_probe: 0 SERVING, 4 NOT_SERVING, 3 an unknown service or a failed call,\n" +
          "2 no connection, 64 usage error.",
      )
      .argument("[SERVICE]", "'' (the server), GROUP or GROUP/IDENTIFIER")
      .action(run(health, exitOf)),
    ["sr health", "sr health billing", "sr health billing/db --server sr.example.net:50051 --ca ca.pem"],
  );
}
