#include "views/param_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>

#include <limits>

namespace joule::ui {

using plugin::ParamSpec;

ParamForm::ParamForm(QWidget* parent) : QWidget(parent)
{
    layout_ = new QFormLayout(this);
    layout_->setContentsMargins(0, 0, 0, 0);
    layout_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
}

void ParamForm::setSpecs(const std::vector<ParamSpec>& specs)
{
    while (layout_->rowCount() > 0) layout_->removeRow(0);
    editors_.clear();
    specs_ = specs;
    for (const ParamSpec& s : specs_) {
        QWidget* w = nullptr;
        switch (s.type) {
        case ParamSpec::Type::Int: {
            auto* box = new QSpinBox;
            box->setRange(s.min ? static_cast<int>(*s.min) : std::numeric_limits<int>::min(),
                          s.max ? static_cast<int>(*s.max) : std::numeric_limits<int>::max());
            connect(box, &QSpinBox::valueChanged, this, &ParamForm::changed);
            w = box;
            break;
        }
        case ParamSpec::Type::Double: {
            auto* box = new QDoubleSpinBox;
            box->setDecimals(4);
            box->setRange(s.min.value_or(-1e12), s.max.value_or(1e12));
            const double span = s.min && s.max ? *s.max - *s.min : 1.0;
            box->setSingleStep(span > 0 && span <= 1.0 ? 0.001 : 0.1);
            connect(box, &QDoubleSpinBox::valueChanged, this, &ParamForm::changed);
            w = box;
            break;
        }
        case ParamSpec::Type::Bool: {
            auto* box = new QCheckBox;
            connect(box, &QCheckBox::toggled, this, &ParamForm::changed);
            w = box;
            break;
        }
        case ParamSpec::Type::Choice: {
            auto* box = new QComboBox;
            box->addItems(s.choices);
            connect(box, &QComboBox::currentIndexChanged, this, &ParamForm::changed);
            w = box;
            break;
        }
        case ParamSpec::Type::String: {
            auto* edit = new QLineEdit;
            connect(edit, &QLineEdit::textChanged, this, &ParamForm::changed);
            w = edit;
            break;
        }
        }
        w->setObjectName(s.key);
        w->setToolTip(s.help);
        auto* label = new QLabel(s.key);
        label->setToolTip(s.help);
        layout_->addRow(label, w);
        editors_.push_back(w);
    }
    resetToDefaults();
}

void ParamForm::resetToDefaults()
{
    QVariantMap defaults;
    for (const ParamSpec& s : specs_) defaults[s.key] = s.defaultValue;
    setValues(defaults);
}

void ParamForm::setValues(const QVariantMap& values)
{
    for (size_t i = 0; i < specs_.size(); ++i) {
        const ParamSpec& s = specs_[i];
        if (!values.contains(s.key)) continue;
        const QVariant v = values.value(s.key);
        QWidget* w = editors_[i];
        switch (s.type) {
        case ParamSpec::Type::Int: static_cast<QSpinBox*>(w)->setValue(v.toInt()); break;
        case ParamSpec::Type::Double: static_cast<QDoubleSpinBox*>(w)->setValue(v.toDouble()); break;
        case ParamSpec::Type::Bool: static_cast<QCheckBox*>(w)->setChecked(v.toBool()); break;
        case ParamSpec::Type::Choice: static_cast<QComboBox*>(w)->setCurrentText(v.toString()); break;
        case ParamSpec::Type::String: static_cast<QLineEdit*>(w)->setText(v.toString()); break;
        }
    }
}

QVariantMap ParamForm::values() const
{
    QVariantMap out;
    for (size_t i = 0; i < specs_.size(); ++i) {
        const ParamSpec& s = specs_[i];
        QWidget* w = editors_[i];
        switch (s.type) {
        case ParamSpec::Type::Int: out[s.key] = static_cast<qlonglong>(static_cast<QSpinBox*>(w)->value()); break;
        case ParamSpec::Type::Double: out[s.key] = static_cast<QDoubleSpinBox*>(w)->value(); break;
        case ParamSpec::Type::Bool: out[s.key] = static_cast<QCheckBox*>(w)->isChecked(); break;
        case ParamSpec::Type::Choice: out[s.key] = static_cast<QComboBox*>(w)->currentText(); break;
        case ParamSpec::Type::String: out[s.key] = static_cast<QLineEdit*>(w)->text(); break;
        }
    }
    return out;
}

QWidget* ParamForm::editor(const QString& key) const
{
    for (size_t i = 0; i < specs_.size(); ++i)
        if (specs_[i].key == key) return editors_[i];
    return nullptr;
}

} // namespace joule::ui
