"""Exports for slides: a view as PNG (at 2x) or SVG, the window as PNG, the timeline as an animated
GIF or MP4 (drawn from the recorded snapshots), the curves as CSV (History.metrics_csv)."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QPoint, QRect
from PySide6.QtGui import QImage, QPainter, QRegion
from PySide6.QtWidgets import QWidget

from genviz.core.history import History
from genviz.ui.plots import deferred_redraws


class ExportError(RuntimeError):
    pass


def render(widget: QWidget, scale: float = 1.0) -> QImage:
    """``widget`` drawn into an image ``scale`` times its size: plots are vector graphics, so text
    and lines are drawn at the higher resolution, not blown up."""
    w, h = max(1, round(widget.width() * scale)), max(1, round(widget.height() * scale))
    image = QImage(w, h, QImage.Format_RGB32)
    image.fill(widget.palette().window().color())
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setRenderHint(QPainter.TextAntialiasing)
        painter.scale(w / widget.width(), h / widget.height())
        # QWidget's render (a plot view overrides it with one that draws only its scene); without the ℹ buttons
        from genviz.ui.cards import hidden_buttons

        with hidden_buttons(widget):
            QWidget.render(widget, painter, QPoint(0, 0), QRegion(QRect(0, 0, widget.width(), widget.height())))
    finally:
        painter.end()
    return image


def view_png(widget: QWidget, path: str | Path, scale: float = 2.0) -> Path:
    image = render(widget, scale)
    if not image.save(str(path), "PNG"):
        raise ExportError(f"could not write {path}")
    return Path(path)


def view_svg(widget: QWidget, path: str | Path) -> Path:
    """A view as an SVG drawing: curves, axes and text stay vectors (editable in Inkscape or
    Illustrator); images inside it are embedded. Qt's own SVG painter: pyqtgraph's SVG exporter
    fails on the paths that recent Qt versions write."""
    from PySide6.QtCore import QSize
    from PySide6.QtSvg import QSvgGenerator

    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(QSize(widget.width(), widget.height()))
    gen.setViewBox(QRect(0, 0, widget.width(), widget.height()))
    gen.setTitle(getattr(widget, "windowTitle", lambda: "")() or "genviz view")
    painter = QPainter(gen)
    try:
        from genviz.ui.cards import hidden_buttons

        with hidden_buttons(widget):  # the ℹ buttons are for the screen, not the slide
            QWidget.render(widget, painter, QPoint(0, 0), QRegion(QRect(0, 0, widget.width(), widget.height())))
    finally:
        painter.end()
    if not Path(path).is_file():
        raise ExportError(f"could not write {path}")
    Path(path).write_text(join_text_runs(Path(path).read_text(encoding="utf-8")), encoding="utf-8")
    return Path(path)


_TEXT_RUN = re.compile(r'<text ([^>]*?)x="([-0-9.e]+)" y="([-0-9.e]+)"([^>]*)>([^<]*)</text>\s*'
                       r'<text \1x="([-0-9.e]+)" y="\3"\4>([^<]*)</text>')
_FONT = re.compile(r'font-(family|size|weight)="([^"]*)"')


def _text_width(text: str, attributes: str) -> float:
    """How wide Qt drew ``text`` in the font the SVG attributes name (its own metrics)."""
    from PySide6.QtGui import QFont, QFontMetricsF

    found = dict(_FONT.findall(attributes))
    font = QFont(found.get("family", ""))
    try:
        font.setPointSizeF(float(found.get("size", 9)))
        font.setWeight(QFont.Weight(int(found.get("weight", 400))))
    except ValueError:
        pass
    return QFontMetricsF(font).horizontalAdvance(text)


def join_text_runs(svg: str, width=_text_width) -> str:
    """Qt's SVG painter writes a label in runs, one per script ("prior, 2" then "σ" at its own x), so
    in another viewer's font the pieces drift apart or overlap. Adjacent runs on one baseline with
    the same style become one text element again; texts that only share a baseline (an axis's tick
    labels) stay apart: a run continues a label only where the text before it ends."""
    def join(m):
        size = float((dict(_FONT.findall(m[1] + m[4])).get("size") or 9))
        end = float(m[2]) + width(m[5], m[1] + m[4])
        if abs(float(m[6]) - end) > 0.4 * size:
            return m[0][:m[0].index("</text>") + len("</text>")] + "\0" + m[0][m[0].index("</text>") + len("</text>"):]
        return f'<text {m[1]}x="{m[2]}" y="{m[3]}"{m[4]}>{m[5]}{m[7]}</text>'

    while True:
        joined = _TEXT_RUN.sub(join, svg)
        if joined == svg:
            return svg.replace("\0", "")
        svg = joined


def window_png(window: QWidget, path: str | Path) -> Path:
    if not window.grab().save(str(path), "PNG"):
        raise ExportError(f"could not write {path}")
    return Path(path)


def flush_views(panel) -> None:
    """Run the panel's queued view updates now (normally one per event-loop turn) and let Qt lay
    them out (some views queue smaller ones when drawn, hence the rounds)."""
    for _ in range(64):
        if not panel.drawing:
            break
        panel.flush()
    QCoreApplication.processEvents()


def frame_indices(n: int, max_frames: int) -> list[int]:
    """Up to ``max_frames`` evenly spread frames of ``n``, always the first and the last."""
    if n <= max_frames:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, max_frames).round().astype(int).tolist()))


def stamp_step(image: QImage, step: int) -> None:
    """'step 1,234' in the lower right corner of an animation frame, on a pale box: a GIF or MP4
    taken out of genviz still says where in training each frame is."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtGui import QColor, QFont, QPainter

    painter = QPainter(image)
    font = QFont()
    font.setPixelSize(max(10, image.height() // 22))
    font.setBold(True)
    painter.setFont(font)
    text = f"step {step:,}"
    box = painter.fontMetrics().boundingRect(text).adjusted(-6, -3, 6, 3)
    box.moveBottomRight(image.rect().bottomRight() - QPoint(6, 6))
    painter.fillRect(box, QColor(255, 255, 255, 210))
    painter.setPen(QColor(20, 20, 20))
    painter.drawText(box, Qt.AlignCenter, text)
    painter.end()


def timeline_frames(panel, widget: QWidget, history: History, width: int | None = None, max_frames: int = 300):
    """Yield one RGB array per recorded snapshot: the panel shows it, ``widget`` is rendered."""
    for i in frame_indices(len(history), max_frames):
        with deferred_redraws():
            panel.show_recorded(history.frame(i))
        flush_views(panel)
        if panel.failures:
            raise ExportError(f"the session's frames cannot be drawn: {panel.failures[0]}")
        scale = (width / widget.width()) if width else 1.0
        image = render(widget, scale)
        stamp_step(image, history.frame(i).step)
        yield image_rgb(image)
    panel.show_recorded(None)


def image_rgb(image: QImage) -> np.ndarray:
    """A QImage as a height x width x 3 uint8 array (a copy)."""
    image = image.convertToFormat(QImage.Format_RGB888)
    arr = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(
        image.height(), image.bytesPerLine())[:, : image.width() * 3].reshape(image.height(), image.width(), 3)
    return arr.copy()


def write_gif(frames, path: str | Path, fps: int) -> int:
    """RGB frames (any iterable: each is turned into a 256-colour palette image as it arrives, so a long timeline
    is held at one byte a pixel, never as a list of RGB arrays) as a looping GIF; returns the number of distinct
    frames (a GIF merges a frame identical to the one before it into a longer one)."""
    from PIL import Image

    images, distinct, previous = [], 0, None
    for f in frames:
        if previous is None or not np.array_equal(previous, f):
            distinct += 1
        previous = f
        images.append(Image.fromarray(f).convert("P", palette=Image.Palette.ADAPTIVE, colors=256))
    if not images:
        raise ExportError("no frames to write")
    # one palette per frame; duration is per frame in ms
    images[0].save(path, save_all=True, append_images=images[1:], duration=max(20, round(1000 / fps)),
                   loop=0, optimize=False)
    return distinct


def mp4_writer():
    """imageio-ffmpeg's frame writer (it ships an ffmpeg binary: the ``video`` extra), or None."""
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
        return imageio_ffmpeg.write_frames
    except Exception:
        return None


def timeline_animation(panel, widget: QWidget, history: History, path: str | Path, fps: int = 10,
                       width: int | None = None, max_frames: int = 300) -> int:
    """Write the history of ``widget`` as a GIF or an MP4 (by the suffix). Returns the frame count."""
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".gif", ".mp4"):
        raise ExportError(f"animations are written as .gif or .mp4, not '{kind or path.name}'")
    if not len(history):
        raise ExportError("the history is empty: nothing to animate")
    write_frames = mp4_writer() if kind == ".mp4" else None
    if kind == ".mp4" and write_frames is None:
        raise ExportError("MP4 export needs imageio-ffmpeg (pip install 'genviz[video]' or "
                          "'pip install imageio-ffmpeg'); GIF export works without it")
    frames = timeline_frames(panel, widget, history, width, max_frames)  # rendered one at a time, streamed
    if kind == ".gif":
        return write_gif(frames, path, fps)
    first = next(frames)
    # H.264 in yuv420p (what every player decodes) needs even sides: pad by one pixel, never scale
    h, w, _ = first.shape
    H, W = h + h % 2, w + w % 2
    writer = write_frames(str(path), (W, H), fps=fps, codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
                          macro_block_size=1, quality=8, ffmpeg_log_level="error")
    count = 0
    try:
        writer.send(None)  # start ffmpeg
        for f in itertools.chain([first], frames):
            if (H, W) != (h, w):
                f = np.pad(f, ((0, H - h), (0, W - w), (0, 0)), mode="edge")
            writer.send(np.ascontiguousarray(f))
            count += 1
    except (OSError, RuntimeError, BrokenPipeError) as exc:
        raise ExportError(f"ffmpeg could not write {path.name}: {exc}") from None
    finally:
        writer.close()
    if not path.is_file() or path.stat().st_size == 0:
        raise ExportError(f"ffmpeg wrote nothing to {path}")
    return count


# -- headless: ``genviz export SESSION --view NAME --format gif`` --------------------------------------
def session_panel(session, size: tuple[int, int] = (1400, 900)):
    """The session's lab panel, shown off screen, rebuilt from its history up to the last step."""
    from genviz.core.labs import get_lab, import_object

    lab = get_lab(session.lab)
    panel = import_object(lab.panel)(lab)
    panel.resize(*size)
    panel.show()
    panel.rebuild(session.static, session.history, session.step)
    flush_views(panel)
    if panel.failures:  # an export that silently left views empty would be a wrong picture
        raise ExportError(f"the session's frames cannot be drawn: {panel.failures[0]}")
    return panel


MAX_WIDTH = 8192  # pixels: a 30,000-pixel image crashed Qt's painter


def export_session(session, view: str, fmt: str, out: str | Path, fps: int = 10, width: int | None = None,
                   max_frames: int = 300, step: int | None = None, size: tuple[int, int] = (1400, 900)) -> dict:
    """Export one view of a saved session without a window: png/svg of the frame at ``step`` (the
    last one by default), gif/mp4 of the whole timeline, csv of the curves."""
    fmt = fmt.lower()
    out = Path(out)
    if width is not None and not 16 <= int(width) <= MAX_WIDTH:
        raise ExportError(f"an export is 16 to {MAX_WIDTH:,} pixels wide, not {width:,}")
    if not 1 <= int(fps) <= 60 or not 1 <= int(max_frames) <= 10000:
        raise ExportError(f"an animation takes 1-60 frames a second and 1-10,000 frames (got {fps}, {max_frames})")
    if fmt == "csv":
        out.write_text(session.history.metrics_csv())
        return {"path": str(out), "rows": len(session.history.metrics().get("step", []))}
    panel = session_panel(session, size)
    views = {"lab": panel, **panel.views()}
    if view not in views:
        raise ExportError(f"no view '{view}' in the {session.lab} lab; views: {', '.join(views)}")
    widget = views[view]
    if fmt in ("gif", "mp4"):
        frames = timeline_animation(panel, widget, session.history, out, fps=fps, width=width, max_frames=max_frames)
        return {"path": str(out), "frames": frames, "fps": fps}
    if not len(session.history):
        raise ExportError("the session has no recorded snapshots")
    index = session.history.index_at(session.step if step is None else step)
    panel.guarded("the recorded step", panel.show_frame, session.history.frame(index), False)
    flush_views(panel)
    if panel.failures:
        raise ExportError(f"the session's frames cannot be drawn: {panel.failures[0]}")
    if fmt == "png":
        scale = (width / widget.width()) if width else 2.0
        view_png(widget, out, scale=scale)
    elif fmt == "svg":
        view_svg(widget, out)
    else:
        raise ExportError(f"unknown format '{fmt}' (png, svg, gif, mp4, csv)")
    return {"path": str(out), "step": session.history.frames[index].step}
