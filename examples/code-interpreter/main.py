"""Stateful, notebook-style code in a machine: variables persist between runs, output
streams as it comes, a plot comes back as a PNG, an error comes back as an error."""
import base64

from nullspace import Machine

m = Machine.create(template="code-interpreter", timeout_s=600)
try:
    m.code.run("import math\nradius = 3")
    area = m.code.run("round(math.pi * radius ** 2, 2)")
    print("area:", area.text)
    assert area.text == "28.27"

    streamed = []
    m.code.run("for i in range(3): print('step', i)", on_stdout=streamed.append)
    print("streamed:", "".join(streamed).split("\n")[:3])

    plot = m.code.run("import matplotlib.pyplot as plt\n"
                      "plt.plot([1, 2, 3], [1, 4, 9]); plt.title('squares'); plt.show()")
    png = base64.b64decode(next(r.png for r in plot.results if r.png))
    with open("plot.png", "wb") as f:
        f.write(png)
    print("plot.png:", len(png), "bytes")
    assert png.startswith(b"\x89PNG")

    failed = m.code.run("1 / 0")
    print("error:", failed.error.name)
    assert failed.error.name == "ZeroDivisionError"
finally:
    m.kill()
