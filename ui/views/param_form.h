#pragma once
// A settings form generated from a plugin's parameter declarations (plugin/parameter.h): the same
// declaration drives the CLI recipe keys, this form and the experiment store.
//
//   ParamForm* form = new ParamForm;
//   form->setSpecs(info.params);        // int -> spin box, double -> spin box, bool -> check box,
//                                       // choice -> combo box, string -> line edit; help as tooltip
//   QVariantMap p = form->values();     // every key, as the widgets hold it
//   form->editor("bits");               // the widget of one key (objectName == key)

#include "plugin/parameter.h"

#include <QVariantMap>
#include <QWidget>

#include <vector>

class QFormLayout;

namespace joule::ui {

class ParamForm : public QWidget {
    Q_OBJECT
public:
    explicit ParamForm(QWidget* parent = nullptr);
    void setSpecs(const std::vector<plugin::ParamSpec>& specs);
    QVariantMap values() const;
    // Sets the widgets of the given keys (unknown keys are ignored); values as resolveParams takes them.
    void setValues(const QVariantMap& values);
    void resetToDefaults();
    QWidget* editor(const QString& key) const;
    const std::vector<plugin::ParamSpec>& specs() const { return specs_; }

signals:
    void changed();

private:
    std::vector<plugin::ParamSpec> specs_;
    std::vector<QWidget*> editors_;
    QFormLayout* layout_;
};

} // namespace joule::ui
