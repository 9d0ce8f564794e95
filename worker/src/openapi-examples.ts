/**
 * Request body examples for the OpenAPI document, exactly the README's (`-d '…'` bodies of "Public API" and the
 * sections after it); test/worker/openapi-coverage.test.ts checks each one is in the README and passes its route's
 * schema. Keyed by operationId, then by example name.
 */
export type Examples = Record<string, { summary: string; value: unknown }>;

export const REQUEST_EXAMPLES: Record<string, Examples> = {
  createThread: {
    demo: { summary: "A thread with a chosen id", value: { id: "demo" } },
    offline: { summary: "A thread without network", value: { id: "offline", network: "none" } },
    egress: {
      summary: "A thread that reaches named hosts only, with a secret header for one",
      value: {
        id: "agent",
        network: {
          allow: ["pypi.org", "files.pythonhosted.org", "*.githubusercontent.com", "api.example.com"],
          deny: ["gist.githubusercontent.com"],
          secrets: [{ host: "api.example.com", header: "Authorization", value: "Bearer sk-..." }],
        },
      },
    },
    fork: { summary: "A fork of another thread as it is now (or at `checkpoint`)", value: { id: "demo-branch", from: { thread: "demo" } } },
  },
  createCheckpoint: {
    label: { summary: "A checkpoint with a label", value: { label: "before the refactor" } },
  },
  restoreCheckpoint: {
    empty: { summary: "Nothing to say: the checkpoint is in the path", value: {} },
  },
  mintToken: {
    token: { summary: "A 15-minute token for a browser", value: { thread: "demo", ttl_seconds: 900 } },
  },
  exec: {
    hello: { summary: "A shell command", value: { command: "echo hi; python --version" } },
    limits: { summary: "Per-call limits", value: { command: "ulimit -u -v", limits: { memory_mb: 1024, processes: 64 } } },
    stream: { summary: "Output over time (ask for text/event-stream)", value: { command: "for i in 1 2 3; do echo $i; sleep 1; done" } },
  },
  runPython: {
    files: {
      summary: "Code with a module of its own",
      value: { code: "from calc import add\nprint(add(2, 3))", files: { "calc.py": "def add(a, b):\n    return a + b\n" } },
    },
    screenshot: {
      summary: "A Tk window, photographed",
      value: {
        capture_screenshot: true,
        code: 'import tkinter as tk\nroot = tk.Tk()\ntk.Label(root, text="hello", font=("Helvetica", 40)).pack()\nroot.after(1000, root.destroy)\nroot.mainloop()',
      },
    },
    frames: {
      summary: "Frames of an animation, streamed as they are taken",
      value: {
        capture_screenshot: { interval_ms: 250, max_frames: 8 },
        code: 'import tkinter as tk\nroot = tk.Tk()\nroot.geometry("300x100+0+0")\nc = tk.Canvas(root, width=300, height=100, bg="white")\nc.pack()\nbox = c.create_rectangle(0, 30, 40, 70, fill="red")\nfor i in range(20):\n    c.move(box, 12, 0)\n    root.update()\n    root.after(100)\nroot.destroy()',
      },
    },
    window: {
      summary: "One window, by its title",
      value: {
        capture_screenshot: { window: "Settings" },
        code: 'import tkinter as tk\nroot = tk.Tk()\nroot.title("Main")\ntool = tk.Toplevel(root)\ntool.title("Settings")\ntk.Label(tool, text="only this window", font=("Helvetica", 24)).pack()\nroot.after(1000, root.destroy)\nroot.mainloop()',
      },
    },
  },
  runPythonTool: {
    stdin: {
      summary: "The tool's exact body (sandbox_id names the thread)",
      value: { sandbox_id: "12345678-1234-1234-1234-123456789abc", code: 'name = input()\nprint(f"Hello {name}!")', stdin: "Alice\n" },
    },
  },
  runCode: {
    bash: { summary: "Shell", value: { language: "bash", code: "ls /" } },
    javascript: { summary: "JavaScript with top-level await", value: { language: "javascript", code: "console.log(await Promise.resolve(42))" } },
    region: {
      summary: "One area of the screen",
      value: {
        language: "python",
        capture_screenshot: { region: { x: 0, y: 0, width: 320, height: 200 } },
        code: 'import tkinter as tk\nroot = tk.Tk()\nroot.geometry("+0+0")\ntk.Label(root, text="top-left corner", font=("Helvetica", 32), bg="yellow").pack()\nroot.update()\nroot.destroy()',
      },
    },
  },
  installPackages: {
    npm: { summary: "An npm package (bun add)", value: { language: "javascript", packages: ["docx"] } },
  },
  exposePort: {
    server: { summary: "A dev server on port 8000", value: { port: 8000 } },
  },
  createContext: {
    python: { summary: "A Python interpreter", value: { language: "python" } },
    javascript: { summary: "A JavaScript interpreter", value: { language: "javascript" } },
  },
  startProcess: {
    server: { summary: "A web server in the background", value: { command: "python3 -m http.server 8000", name: "web" } },
    cat: { summary: "A process fed through stdin", value: { command: "cat", name: "echo" } },
  },
  waitProcess: {
    port: { summary: "Until it listens on a port", value: { port: 8000, timeout: 30 } },
  },
  processStdin: {
    eof: { summary: "A line, then EOF", value: { data: "hello\n", eof: true } },
  },
  mcp: {
    tools: { summary: "List the tools (ask for application/json, text/event-stream)", value: { jsonrpc: "2.0", id: 1, method: "tools/list" } },
  },
  runCell: {
    define: { summary: "A Python cell that defines a DataFrame", value: { code: 'import pandas as pd\ndf = pd.DataFrame({"a": [1, 2]})' } },
    use: { summary: "A later Python cell that uses it", value: { code: "df.a.sum()" } },
    javascript: { summary: "A JavaScript cell", value: { code: "let n = 20\nconst add = (x) => x + n" } },
    await: { summary: "A JavaScript cell with await", value: { code: "await new Promise(r => setTimeout(r, 10))\nadd(22)" } },
  },
  runJupyter: {
    file: { summary: "A notebook of the workspace (its outputs are written back into it)", value: { notebook: "analysis/report.ipynb" } },
    inline: {
      summary: "A notebook given inline (its outputs come back with it)",
      value: {
        notebook: {
          nbformat: 4,
          nbformat_minor: 5,
          metadata: {},
          cells: [{ id: "a", cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: "x = 6\nx * 7" }],
        },
        stop_on_error: true,
      },
    },
  },
};
