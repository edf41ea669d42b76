package nullspace;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/**
 * display() for Java contexts (imported statically in every context): shows a value
 * as a result of the run, or a MIME bundle as given. Writes to the worker's control
 * pipe; safe from any thread.
 */
public final class Display {
  private Display() {}

  /** Shows value as text, or as the bundle when it is a Map of MIME type to data. */
  public static void display(Object value) {
    if (value instanceof Map) {
      StringBuilder b = new StringBuilder("{");
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        if (b.length() > 1) b.append(',');
        Object v = e.getValue();
        String data = v instanceof byte[] ? Base64.getEncoder().encodeToString((byte[]) v)
            : String.valueOf(v);
        b.append(Json.quote(String.valueOf(e.getKey()))).append(':').append(Json.quote(data));
      }
      tell("{\"t\":\"result\",\"main\":false,\"bundle\":" + b.append('}') + "}");
      return;
    }
    display("text/plain", String.valueOf(value));
  }

  /** Shows data (text, or base64 for images) as one result of the given MIME type. */
  public static void display(String mime, String data) {
    tell("{\"t\":\"result\",\"main\":false,\"bundle\":{" + Json.quote(mime) + ":"
        + Json.quote(data) + "}}");
  }

  /** Writes one control line (a JSON object without its newline). */
  public static synchronized void tell(String json) {
    System.out.flush();
    System.err.flush();
    try {
      CTL.write((json + "\n").getBytes(StandardCharsets.UTF_8));
      CTL.flush();
    } catch (IOException e) {
      throw new IllegalStateException("the control pipe is closed", e);
    }
  }

  private static final FileOutputStream CTL = open();

  private static FileOutputStream open() {
    try {
      return new FileOutputStream("/proc/self/fd/" + System.getProperty("nullspace.ctl"));
    } catch (IOException e) {
      throw new IllegalStateException("no control pipe", e);
    }
  }
}
