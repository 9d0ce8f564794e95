import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { fixForImport, moduleNotFoundHint } from "../../runtime-container/src/python/import-names.ts";

// The real interpreter's standard library, as the runtime probes it (sys.stdlib_module_names).
const STDLIB: ReadonlySet<string> = new Set(
  JSON.parse(execFileSync("python3", ["-c", "import json, sys; print(json.dumps(sorted(sys.stdlib_module_names)))"], { encoding: "utf8" })) as string[],
);

// What `import <name>` failing should lead to: the distribution to install, a standard-library module meant instead,
// or nothing (standard library: never installed).
const TABLE: [string, { install: string } | { stdlib: string } | { none: true }][] = [
  ["sklearn", { install: "scikit-learn" }],
  ["sklearn.ensemble", { install: "scikit-learn" }],
  ["PIL", { install: "pillow" }],
  ["PIL.Image", { install: "pillow" }],
  ["cv2", { install: "opencv-python-headless" }],
  ["yaml", { install: "PyYAML" }],
  ["bs4", { install: "beautifulsoup4" }],
  ["skimage", { install: "scikit-image" }],
  ["dateutil.parser", { install: "python-dateutil" }],
  ["dotenv", { install: "python-dotenv" }],
  ["docx", { install: "python-docx" }],
  ["pptx", { install: "python-pptx" }],
  ["fitz", { install: "PyMuPDF" }],
  ["Crypto.Cipher", { install: "pycryptodome" }],
  ["jwt", { install: "PyJWT" }],
  ["attr", { install: "attrs" }],
  ["Bio.Seq", { install: "biopython" }],
  ["OpenSSL", { install: "pyOpenSSL" }],
  ["psycopg2", { install: "psycopg2-binary" }],
  ["MySQLdb", { install: "mysqlclient" }],
  ["dns.resolver", { install: "dnspython" }],
  ["git", { install: "GitPython" }],
  ["zmq", { install: "pyzmq" }],
  ["grpc", { install: "grpcio" }],
  ["websocket", { install: "websocket-client" }],
  ["serial", { install: "pyserial" }],
  ["mpl_toolkits.mplot3d", { install: "matplotlib" }],
  ["pkg_resources", { install: "setuptools" }],
  ["google.protobuf", { install: "protobuf" }],
  ["google.cloud.storage", { install: "google-cloud-storage" }],
  // Named like their module.
  ["numpy", { install: "numpy" }],
  ["pandas.core.frame", { install: "pandas" }],
  ["requests", { install: "requests" }],
  ["matplotlib.pyplot", { install: "matplotlib" }],
  // Standard-library typos and Python 2 names: nothing to install.
  ["dataclass", { stdlib: "dataclasses" }],
  ["collection", { stdlib: "collections" }],
  ["itertool", { stdlib: "itertools" }],
  ["urllib2", { stdlib: "urllib.request" }],
  ["ConfigParser", { stdlib: "configparser" }],
  ["Queue", { stdlib: "queue" }],
  ["cPickle", { stdlib: "pickle" }],
  ["StringIO", { stdlib: "io" }],
  ["Tkinter", { stdlib: "tkinter" }],
  // The standard library itself is never installed.
  ["dataclasses", { none: true }],
  ["json", { none: true }],
  ["xml.etree.ElementTree", { none: true }],
  ["sqlite3", { none: true }],
  ["tomllib", { none: true }],
];

describe("fixForImport on real import names", () => {
  it("has a table of at least 30 names", () => expect(TABLE.length).toBeGreaterThanOrEqual(30));

  it.each(TABLE)("%s", (module, fix) => {
    expect(fixForImport(module, STDLIB)).toEqual(fix);
  });

  it("never proposes installing a standard-library module or a typo's target", () => {
    for (const [module] of TABLE) {
      const fix = fixForImport(module, STDLIB);
      if ("install" in fix) expect(STDLIB.has(fix.install), module).toBe(false);
      if ("stdlib" in fix) expect(STDLIB.has(fix.stdlib.split(".")[0] as string), module).toBe(true);
    }
  });

  it("hints with the distribution's name, or the standard-library module meant", () => {
    expect(moduleNotFoundHint("yaml")).toContain('"packages": ["PyYAML"]');
    expect(moduleNotFoundHint("urllib2")).toContain("'urllib.request'");
    expect(moduleNotFoundHint("urllib2")).not.toContain("packages");
  });
});
