// The official MCP client connected to `nullspace mcp` over stdio, for the tests here:
// CLI_PATH is the nullspace binary; the daemon comes from NULLSPACE_API_URL/KEY.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

/** Resolves {client, transport} once the session is up. */
export async function connect(cli, name) {
  const transport = new StdioClientTransport({
    command: cli,
    args: ["mcp"],
    env: {
      NULLSPACE_API_URL: process.env.NULLSPACE_API_URL,
      NULLSPACE_API_KEY: process.env.NULLSPACE_API_KEY,
      HOME: process.env.HOME,
      PATH: process.env.PATH,
    },
    stderr: "inherit",
  });
  const client = new Client({ name, version: "1.0.0" });
  await client.connect(transport);
  return { client, transport };
}
