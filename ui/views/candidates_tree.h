#pragma once
// The project tree: the opened model, then every run with its candidates nested by provenance
// (parent → child, the plugin that made each), with accuracy, energy and memory.
//
//   tree->setProject(project);
//   connect(tree, &CandidatesTree::candidateSelected, ...);   // a candidate's key, on click
//   tree->selectCandidate("1/c1");                             // from elsewhere, no signal

#include "project/project.h"

#include <QTreeWidget>

namespace joule::ui {

class CandidatesTree : public QTreeWidget {
    Q_OBJECT
public:
    enum Column { Name, Plugin, Accuracy, Energy, Weights, Target, ColumnCount };
    static constexpr int KeyRole = Qt::UserRole;

    explicit CandidatesTree(QWidget* parent = nullptr);
    void setProject(const Project* project);
    void selectCandidate(const QString& key);
    QTreeWidgetItem* itemFor(const QString& key) const;
    int candidateCount() const;   // candidate items (runs are not candidates)

signals:
    void candidateSelected(const QString& key);

private:
    bool syncing_ = false;
};

} // namespace joule::ui
