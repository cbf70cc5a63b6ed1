#include "views/plugin_folders_dialog.h"

#include "plugin/plugin_manager.h"

#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

namespace joule::ui {

namespace {

// "3 plugins, 1 broken" / "no plugins" / "missing": what the folder holds now.
QString describe(const QString& folder)
{
    if (!QFileInfo(folder).isDir()) return QObject::tr("missing");
    const plugin::PluginManager found({folder});
    int ok = 0, broken = 0;
    for (const plugin::PluginInfo& p : found.plugins()) (p.ok ? ok : broken)++;
    if (ok + broken == 0) return QObject::tr("no plugins");
    QString text = (ok + broken == 1 ? QObject::tr("1 plugin") : QObject::tr("%1 plugins").arg(ok + broken));
    if (broken) text += QObject::tr(", %1 broken").arg(broken);
    return text;
}

} // namespace

PluginFoldersDialog::PluginFoldersDialog(const QStringList& folders, QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("Plugin Folders"));
    setObjectName("pluginFoldersDialog");
    auto* intro = new QLabel(tr("Joule Studio and the joule command look for plugins in $JOULE_PLUGIN_PATH, in their "
                                "own plugin folder, in %1, and in the folders below. Changes apply to the studio at "
                                "once and to the command line from its next run.")
                                 .arg(QDir::toNativeSeparators(plugin::PluginManager::userDir())));
    intro->setWordWrap(true);
    list_ = new QListWidget;
    list_->setObjectName("pluginFolders");
    auto* add = new QPushButton(tr("&Add…"));
    remove_ = new QPushButton(tr("&Remove"));
    remove_->setEnabled(false);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);

    auto* side = new QVBoxLayout;
    side->addWidget(add);
    side->addWidget(remove_);
    side->addStretch(1);
    auto* row = new QHBoxLayout;
    row->addWidget(list_, 1);
    row->addLayout(side);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(row, 1);
    layout->addWidget(buttons);
    resize(640, 320);

    for (const QString& f : folders) addFolder(f);
    connect(add, &QPushButton::clicked, this, &PluginFoldersDialog::chooseFolder);
    connect(remove_, &QPushButton::clicked, this, [this] { delete list_->currentItem(); });
    connect(list_, &QListWidget::currentRowChanged, this, [this](int row) { remove_->setEnabled(row >= 0); });
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

QStringList PluginFoldersDialog::folders() const
{
    QStringList out;
    for (int i = 0; i < list_->count(); ++i) out << list_->item(i)->data(Qt::UserRole).toString();
    return out;
}

void PluginFoldersDialog::addFolder(const QString& path)
{
    const QString folder = QDir::cleanPath(QFileInfo(path).absoluteFilePath());
    if (folders().contains(folder)) return;
    auto* item = new QListWidgetItem(QDir::toNativeSeparators(folder) + "   (" + describe(folder) + ")");
    item->setData(Qt::UserRole, folder);
    list_->addItem(item);
}

void PluginFoldersDialog::chooseFolder()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("A folder of Joule plugins"));
    if (!dir.isEmpty()) addFolder(dir);
}

} // namespace joule::ui
