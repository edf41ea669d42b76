import type { Machine } from "./index.js";

/** A framework-neutral tool bound to a machine. */
export interface NullspaceTool {
  name: "run_command" | "read_file" | "write_file" | "run_code" | "screenshot";
  description: string;
  /** JSON Schema of its arguments (an object). */
  parameters: Record<string, unknown>;
  /** Text, or the screenshot as an image. */
  run(args: Record<string, unknown>): Promise<string | { type: "image"; data: string; mimeType: string }>;
}

export interface IntegrationOptions {
  /** The tools wanted (default all five). */
  include?: NullspaceTool["name"][];
}

/** The tools bound to machine, for any framework. */
export function nullspaceTools(machine: Machine, opts?: IntegrationOptions): NullspaceTool[];
/** FunctionTools of the OpenAI Agents SDK (@openai/agents): new Agent({ tools }). */
export function openAIAgentsTools(machine: Machine, opts?: IntegrationOptions): Promise<unknown[]>;
/** LangChain.js tools (@langchain/core), for LangGraph.js's ToolNode and createReactAgent too. */
export function langChainTools(machine: Machine, opts?: IntegrationOptions): Promise<unknown[]>;
/** The Claude Agent SDK's in-process MCP server (createSdkMcpServer) of the tools. */
export function claudeAgentSdkServer(machine: Machine, opts?: IntegrationOptions): Promise<{ type: "sdk"; name: string; instance: unknown }>;
