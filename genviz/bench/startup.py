"""Child process of the start-up benchmark: prints the time of the main window's first paint."""
import os
import sys
import time


def main() -> None:
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from genviz.ui import theme
    from genviz.ui.main_window import MainWindow

    app = QApplication(sys.argv[:1])
    theme.apply_theme("light")
    window = MainWindow(engine_kind="process", lab="manifold")

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Paint and not hasattr(self, "done"):
                self.done = True
                # print after this paint completes
                QTimer.singleShot(0, lambda: (print(f"painted {time.time():.6f}", flush=True), window.close(), app.quit()))
            return False

    f = FirstPaint()
    window.installEventFilter(f)
    window.show()
    app.exec()


if __name__ == "__main__":
    main()
