package nullspace;

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import jdk.jshell.Diag;
import jdk.jshell.EvalException;
import jdk.jshell.JShell;
import jdk.jshell.Snippet;
import jdk.jshell.SnippetEvent;
import jdk.jshell.SourceCodeAnalysis;
import jdk.jshell.UnresolvedReferenceException;
import sun.misc.Signal;

/**
 * A Java context (java_kernel.py starts it): JShell, run in this JVM, whose
 * declarations carry from run to run. No Jupyter kernel for Java is packaged in
 * Debian, so this is our own small worker.
 *
 * <p>A run arrives as one JSON line on the request pipe ({code, env}). The code is cut
 * into snippets as JShell would and each is evaluated in turn; the first that fails
 * to compile or throws ends the run with its error. The value of a last expression
 * is the main result. A run's environment is put into this JVM's own (System.getenv
 * and the processes it starts see it) and taken back afterwards. SIGINT stops the
 * snippet under way and leaves the context alive.
 */
public final class Worker {
  private static volatile boolean interrupted;
  private static JShell shell;

  /** What the jshell tool imports at start, so code written for it runs here too. */
  private static final String[] DEFAULT_IMPORTS = {"java.io", "java.math", "java.net",
      "java.nio.file", "java.util", "java.util.concurrent", "java.util.function",
      "java.util.prefs", "java.util.regex", "java.util.stream"};

  private Worker() {}

  public static void main(String[] args) throws Exception {
    String req = System.getenv("NSCODE_REQ_FD");
    System.setProperty("nullspace.ctl", System.getenv("NSCODE_CTL_FD"));
    Env.table().remove("NSCODE_REQ_FD");
    Env.table().remove("NSCODE_CTL_FD");
    shell = JShell.builder().executionEngine("local").build();
    shell.addToClasspath(System.getProperty("java.class.path"));
    for (String pkg : DEFAULT_IMPORTS) shell.eval("import " + pkg + ".*;");
    shell.eval("import static nullspace.Display.display;");
    Signal.handle(new Signal("INT"), s -> {
      interrupted = true;
      shell.stop();
    });
    BufferedReader in = new BufferedReader(new InputStreamReader(
        new FileInputStream("/proc/self/fd/" + req), StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null;) {
      Object doc;
      try {
        doc = Json.parse(line);
      } catch (IllegalArgumentException e) {
        continue;
      }
      if (doc instanceof Map) serve((Map<?, ?>) doc);
    }
    System.exit(0);
  }

  private static void serve(Map<?, ?> req) {
    Map<String, String> saved = new HashMap<>();
    Object env = req.get("env");
    if (env instanceof Map) {
      for (Map.Entry<?, ?> e : ((Map<?, ?>) env).entrySet()) {
        String k = String.valueOf(e.getKey());
        saved.put(k, System.getenv(k));
        Env.table().put(k, String.valueOf(e.getValue()));
      }
    }
    interrupted = false;
    Display.tell("{\"t\":\"started\"}");
    try {
      run(String.valueOf(req.get("code")));
    } catch (RuntimeException e) {
      error(e.getClass().getName(), String.valueOf(e.getMessage()), "");
    } finally {
      for (Map.Entry<String, String> e : saved.entrySet()) {
        if (e.getValue() == null) Env.table().remove(e.getKey());
        else Env.table().put(e.getKey(), e.getValue());
      }
      Display.tell("{\"t\":\"done\"}");
    }
  }

  private static void run(String code) {
    SourceCodeAnalysis sca = shell.sourceCodeAnalysis();
    String rest = code;
    String value = null;
    while (!rest.isBlank()) {
      SourceCodeAnalysis.CompletionInfo ci = sca.analyzeCompletion(rest);
      if (ci.completeness() == SourceCodeAnalysis.Completeness.EMPTY) break;
      if (!ci.completeness().isComplete()) {
        error("CompilationError", "the code ends in the middle of a statement or declaration",
            rest.strip());
        return;
      }
      rest = ci.remaining();
      value = null;
      if (interrupted) {
        error("Interrupted", "the run was interrupted", "");
        return;
      }
      for (SnippetEvent ev : shell.eval(ci.source())) {
        if (ev.causeSnippet() != null) continue;
        if (!report(ev)) return;
        Snippet.SubKind sub = ev.snippet().subKind();
        if (sub.kind() == Snippet.Kind.EXPRESSION
            || sub == Snippet.SubKind.TEMP_VAR_EXPRESSION_SUBKIND) {
          value = ev.value();
        }
      }
    }
    System.out.flush();
    System.err.flush();
    if (value != null) {
      Display.tell("{\"t\":\"result\",\"main\":true,\"bundle\":{\"text/plain\":"
          + Json.quote(value) + "}}");
    }
  }

  /** Tells what went wrong with one snippet; false when the run ends there. */
  private static boolean report(SnippetEvent ev) {
    Snippet sn = ev.snippet();
    if (ev.status() == Snippet.Status.REJECTED) {
      List<Diag> diags = shell.diagnostics(sn).collect(Collectors.toList());
      String msg = diags.stream().filter(Diag::isError)
          .map(d -> d.getMessage(Locale.ROOT)).collect(Collectors.joining("\n"));
      error("CompilationError", msg.isEmpty() ? "the snippet was rejected" : msg, sn.source());
      return false;
    }
    if (ev.exception() instanceof UnresolvedReferenceException) {
      UnresolvedReferenceException u = (UnresolvedReferenceException) ev.exception();
      String missing = shell.unresolvedDependencies(u.getSnippet())
          .collect(Collectors.joining(", "));
      error("UnresolvedReferenceException", "it cannot be invoked until " + missing
          + " is declared", sn.source());
      return false;
    }
    if (ev.exception() instanceof EvalException) {
      EvalException x = (EvalException) ev.exception();
      error(x.getExceptionClassName(), String.valueOf(x.getMessage()), trace(x));
      return false;
    }
    if (ev.exception() != null || interrupted) {
      error(interrupted ? "Interrupted" : ev.exception().getClass().getSimpleName(),
          interrupted ? "the run was interrupted" : String.valueOf(ev.exception().getMessage()),
          "");
      return false;
    }
    return true;
  }

  private static String trace(EvalException x) {
    StringBuilder b = new StringBuilder(x.getExceptionClassName());
    if (x.getMessage() != null) b.append(": ").append(x.getMessage());
    for (StackTraceElement f : x.getStackTrace()) {
      String cls = f.getClassName();
      if (cls.startsWith("jdk.") || cls.startsWith("java.lang.reflect")) break;
      String line = f.getLineNumber() > 0 ? ":" + f.getLineNumber() : "";
      if (cls.isEmpty() || cls.startsWith("REPL.")) b.append("\n\tat the snippet").append(line);
      else b.append("\n\tat ").append(cls).append('.').append(f.getMethodName()).append(line);
    }
    return b.toString();
  }

  private static void error(String name, String value, String traceback) {
    System.out.flush();
    System.err.flush();
    Display.tell("{\"t\":\"error\",\"name\":" + Json.quote(name) + ",\"value\":"
        + Json.quote(value) + ",\"traceback\":" + Json.quote(traceback) + "}");
  }

  /** The JVM's own environment table, writable (needs --add-opens java.base/java.util). */
  static final class Env {
    private static Map<String, String> table;

    @SuppressWarnings("unchecked")
    static synchronized Map<String, String> table() {
      if (table == null) {
        try {
          Map<String, String> env = System.getenv();
          Field f = env.getClass().getDeclaredField("m");
          f.setAccessible(true);
          table = (Map<String, String>) f.get(env);
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException("the environment cannot be changed", e);
        }
      }
      return table;
    }
  }
}
