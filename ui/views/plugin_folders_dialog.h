#pragma once
// Settings → Plugin Folders: the folders the studio (and the CLI) search for plugins besides
// $JOULE_PLUGIN_PATH, its own plugins and the user's folder (~/.local/share/joule/plugins). Each row
// shows how many plugins the folder holds and how many of them are broken.
//
//   PluginFoldersDialog d(plugin::PluginManager::settingsDirs(), this);
//   if (d.exec() == QDialog::Accepted) plugin::PluginManager::setSettingsDirs(d.folders());

#include <QDialog>
#include <QStringList>

class QListWidget;
class QPushButton;

namespace joule::ui {

class PluginFoldersDialog : public QDialog {
    Q_OBJECT
public:
    explicit PluginFoldersDialog(const QStringList& folders, QWidget* parent = nullptr);

    QStringList folders() const;
    // Adds a folder (what Add… does after its file dialog); a folder already listed is not added twice.
    void addFolder(const QString& path);
    QListWidget* list() const { return list_; }

private:
    void chooseFolder();
    QListWidget* list_;
    QPushButton* remove_;
};

} // namespace joule::ui
