"""A form for one vendor's typed options, built from its dataclass: a widget per option.

Booleans become check boxes, choices a combo box, numbers spin boxes (an
optional number's lowest step reads "vendor default"), text and lists a line
edit (a list comma-separated, checked against its choices). The
labels and tooltips come from the option's title and help, so a new option in
a provider module shows up here without GUI code.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from captioner.options import OptionSpec, ProviderOptions, specs

DEFAULT_TEXT = "vendor default"
CHOICE_TITLES = {"": "vendor default", "auto": "automatic (by language)"}
_INT_LIMIT = 2**31 - 1


class OptionForm(QWidget):
    """The options of one vendor.

    Attributes:
        cls: the vendor's options dataclass.
        widgets: option name -> its editor.
    """

    def __init__(self, cls: type[ProviderOptions], vendor_title: str,
                 parent: QWidget | None = None, hidden: tuple[str, ...] = ()) -> None:
        super().__init__(parent)
        self.cls = cls
        self.widgets: dict[str, QWidget] = {}
        self._kept: dict[str, Any] = {}  # hidden options (set elsewhere): kept as loaded
        self._hidden = hidden
        form = QFormLayout(self)
        shown = [spec for spec in specs(cls) if spec.name not in hidden]
        if not shown:
            form.addRow(QLabel(f"{vendor_title} has no further settings.", self))
        for spec in shown:
            widget = self._editor(spec)
            widget.setToolTip(spec.help if spec.kind is not tuple or not spec.choices
                              else f"{spec.help} ({spec.valid_values()})")
            widget.setAccessibleName(f"{vendor_title}: {spec.label}")
            widget.setAccessibleDescription(spec.help)
            self.widgets[spec.name] = widget
            if isinstance(widget, QCheckBox):
                form.addRow(widget)
            else:
                label = QLabel(spec.label + ":", self)
                label.setBuddy(widget)
                form.addRow(label, widget)

    def _editor(self, spec: OptionSpec) -> QWidget:
        if spec.kind is bool:
            return QCheckBox(spec.label, self)
        if spec.choices and spec.kind is not tuple:  # a list of choices is typed, comma-separated
            combo = QComboBox(self)
            for choice in spec.choices:
                combo.addItem(CHOICE_TITLES.get(str(choice), str(choice)), choice)
            return combo
        if spec.kind is int:
            box = QSpinBox(self)
            low = int(spec.minimum if spec.minimum is not None else 0)
            box.setRange(low - 1 if spec.optional else low,
                         int(min(spec.maximum if spec.maximum is not None else _INT_LIMIT,
                                 _INT_LIMIT)))
            if spec.optional:
                box.setSpecialValueText(DEFAULT_TEXT)
            return box
        if spec.kind is float:
            dbox = QDoubleSpinBox(self)
            dbox.setDecimals(2)
            dbox.setSingleStep(0.1)
            low_f = spec.minimum if spec.minimum is not None else 0.0
            dbox.setRange(low_f - 0.01 if spec.optional else low_f,
                          spec.maximum if spec.maximum is not None else 1e6)
            if spec.optional:
                dbox.setSpecialValueText(DEFAULT_TEXT)
            return dbox
        edit = QLineEdit(self)
        if spec.optional or spec.default in ("", None):
            edit.setPlaceholderText("none" if spec.kind is str else DEFAULT_TEXT)
        return edit

    def set_options(self, opts: ProviderOptions) -> None:
        """Show ``opts`` (the vendor's stored or default options)."""
        for spec in specs(self.cls):
            if spec.name in self._hidden:
                self._kept[spec.name] = getattr(opts, spec.name)
            else:
                self._show(spec, self.widgets[spec.name], getattr(opts, spec.name))

    def _show(self, spec: OptionSpec, widget: QWidget, value: Any) -> None:
        if isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QComboBox):
            widget.setCurrentIndex(max(widget.findData(value), 0))
        elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            widget.setValue(widget.minimum() if value is None else value)
        elif isinstance(widget, QLineEdit):
            widget.setText(spec.format(value))

    def options(self) -> ProviderOptions:
        """The options as shown now.

        Raises:
            OptionError: a typed value the vendor does not accept (in words).
        """
        values = {spec.name: self._kept.get(spec.name, spec.default) if spec.name in self._hidden
                  else self._value(spec, self.widgets[spec.name]) for spec in specs(self.cls)}
        return self.cls(**values)

    def _value(self, spec: OptionSpec, widget: QWidget) -> Any:
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            if spec.optional and widget.value() == widget.minimum():
                return None
            return widget.value()
        assert isinstance(widget, QLineEdit)
        return spec.parse(widget.text())
