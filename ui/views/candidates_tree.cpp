#include "views/candidates_tree.h"

#include "views/layer_table.h"

#include <QHeaderView>
#include <QTreeWidgetItemIterator>

#include <algorithm>
#include <map>

namespace joule::ui {

CandidatesTree::CandidatesTree(QWidget* parent) : QTreeWidget(parent)
{
    setColumnCount(ColumnCount);
    setHeaderLabels({tr("Candidate"), tr("Plugin"), tr("Accuracy"), tr("Energy (µJ)"), tr("Weights"), tr("Target")});
    setRootIsDecorated(true);
    setUniformRowHeights(true);
    setAlternatingRowColors(true);
    // The name column takes what its text needs (up to a limit, then the user drags it); the figures
    // after it scroll into view when the dock is narrow.
    header()->setStretchLastSection(false);
    header()->setSectionResizeMode(Name, QHeaderView::Interactive);
    for (int c = Plugin; c < ColumnCount; ++c) header()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);
    connect(this, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* current) {
        if (syncing_ || !current) return;
        const QString key = current->data(Name, KeyRole).toString();
        if (!key.isEmpty()) emit candidateSelected(key);
    });
}

void CandidatesTree::setProject(const Project* project)
{
    const QString selected = currentItem() ? currentItem()->data(Name, KeyRole).toString() : QString();
    syncing_ = true;
    clear();
    syncing_ = false;
    if (!project) return;
    auto makeItem = [](const CandidateInfo& c) {
        auto* item = new QTreeWidgetItem;
        item->setText(Name, c.cid == "model" ? c.label : c.cid + "  " + c.label);
        item->setData(Name, KeyRole, c.key);
        item->setToolTip(Name, c.label + (c.policyKind == "plain" ? QString() : "\npolicy: " + c.policyKind));
        item->setText(Plugin, c.plugin.isEmpty() ? QString("—") : c.plugin);
        item->setText(Accuracy, c.accuracy ? QString::number(100.0 * *c.accuracy, 'f', 2) + " %" : QString("—"));
        item->setText(Energy, c.runEnergyUj ? QString::number(*c.runEnergyUj, 'f', 2) + (c.policyKind == "plain" ? "" : " (exp.)") : QString("—"));
        item->setToolTip(Energy, c.runEnergyUj ? QObject::tr("estimated on %1 by the run%2").arg(c.runTarget, c.policyKind == "plain" ? "" : "; expected per input") : QString());
        item->setText(Weights, formatBytes(static_cast<double>(c.weightBytes)));
        item->setText(Target, c.runTarget);
        for (int col = Accuracy; col <= Weights; ++col) item->setTextAlignment(col, Qt::AlignRight | Qt::AlignVCenter);
        return item;
    };
    std::map<int64_t, QTreeWidgetItem*> runItems;
    for (const RunInfo& r : project->runs()) {
        auto* item = new QTreeWidgetItem(this);
        item->setText(Name, tr("Run %1 · %2").arg(r.id).arg(r.name));
        item->setText(Target, r.target);
        item->setToolTip(Name, tr("%1\nfinished %2 (UTC)").arg(r.recipeFile, r.finishedAt.left(19).replace('T', ' ')));
        QFont f = item->font(Name);
        f.setBold(true);
        item->setFont(Name, f);
        runItems[r.id] = item;
    }
    std::map<QString, QTreeWidgetItem*> byKey;
    for (const CandidateInfo& c : project->candidates()) {
        QTreeWidgetItem* item = makeItem(c);
        byKey[c.key] = item;
        if (c.runId == 0) {
            insertTopLevelItem(0, item);
        } else if (auto parent = byKey.find(c.parentKey); parent != byKey.end()) {
            parent->second->addChild(item);
        } else if (auto run = runItems.find(c.runId); run != runItems.end()) {
            // A parent that the run did not evaluate (an intermediate step, a further model) is named.
            if (!c.parentKey.isEmpty()) item->setText(Name, item->text(Name) + tr("  (from %1)").arg(c.parentKey.section('/', 1)));
            run->second->addChild(item);
        } else {
            addTopLevelItem(item);
        }
    }
    expandAll();
    resizeColumnToContents(Name);
    setColumnWidth(Name, std::min(columnWidth(Name), 230));
    if (!selected.isEmpty()) selectCandidate(selected);
}

QTreeWidgetItem* CandidatesTree::itemFor(const QString& key) const
{
    for (QTreeWidgetItemIterator it(const_cast<CandidatesTree*>(this)); *it; ++it)
        if ((*it)->data(Name, KeyRole).toString() == key) return *it;
    return nullptr;
}

int CandidatesTree::candidateCount() const
{
    int n = 0;
    for (QTreeWidgetItemIterator it(const_cast<CandidatesTree*>(this)); *it; ++it)
        n += !(*it)->data(Name, KeyRole).toString().isEmpty();
    return n;
}

void CandidatesTree::selectCandidate(const QString& key)
{
    syncing_ = true;
    if (QTreeWidgetItem* item = itemFor(key)) {
        setCurrentItem(item);
        scrollToItem(item);
    }
    syncing_ = false;
}

} // namespace joule::ui
