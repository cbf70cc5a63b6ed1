#pragma once
// The optimize panel: the plugins found, a form per plugin generated from its declared parameters,
// the data a run uses (calibration, validation, test), Run with a progress bar, and Cancel.
//
//   OptimizePanel* p = new OptimizePanel(&plugins);
//   p->setProject(&project);                       // data fields from the project's recipe, or defaults
//   plugin::Recipe r = p->recipe(project, "stm32l4r5");   // one step: the chosen plugin and its form
//   connect(p, &OptimizePanel::runRequested, ...); // Run pressed
//
// The panel does not run anything itself: the window sends the recipe to a job.

#include "plugin/plugin_manager.h"
#include "plugin/recipe.h"
#include "project/project.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace joule::ui {

class ParamForm;

class OptimizePanel : public QWidget {
    Q_OBJECT
public:
    explicit OptimizePanel(plugin::PluginManager* plugins, QWidget* parent = nullptr);

    void setProject(const Project* project);
    // Lists the usable plugins of `plugins` (not owned), keeping the chosen one when it is still there.
    void setPlugins(plugin::PluginManager* plugins);
    int pluginCount() const;
    // Chooses a plugin by name; false when there is no usable plugin of that name.
    bool selectPlugin(const QString& name);
    QString currentPlugin() const;
    ParamForm* form() const { return form_; }
    QSpinBox* testLimit() const { return testLimit_; }
    QSpinBox* calibrationLimit() const { return calibrationLimit_; }
    QPushButton* runButton() const { return run_; }
    QPushButton* cancelButton() const { return cancel_; }
    QProgressBar* progressBar() const { return progress_; }

    // The recipe Run sends: the project's model (and the recipe's further models), the data fields,
    // `target`, and one step with the form's values, checked against the plugin's declaration.
    // Throws plugin::RecipeError / PluginError naming the field, or ProjectError without a model.
    plugin::Recipe recipe(const Project& project, const QString& target) const;

public slots:
    void setRunning(bool running);
    void showProgress(double fraction, const QString& message);

signals:
    void runRequested();
    void cancelRequested();

private:
    void fillPlugins();
    void pluginChanged();
    plugin::PluginManager* plugins_;
    QComboBox* plugin_;
    QLabel* summary_;
    ParamForm* form_;
    QLineEdit *calibrationSpec_, *validationSpec_, *testSpec_;
    QSpinBox *calibrationLimit_, *validationOffset_, *validationLimit_, *testLimit_;
    QPushButton *run_, *cancel_;
    QProgressBar* progress_;
    QLabel* status_;
};

} // namespace joule::ui
