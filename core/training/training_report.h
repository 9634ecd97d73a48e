#ifndef EASYMONEY_CORE_TRAINING_TRAINING_REPORT_H_
#define EASYMONEY_CORE_TRAINING_TRAINING_REPORT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/training/evaluation.h"
#include "easymoney/model/v1/manifest.pb.h"

namespace easymoney {

// Everything a training run reports about itself, for the printed tables and
// the self-contained HTML page (`recommender-train --report DIR`). Plain
// data; the trainer fills it, the renderers only format it.
struct TrainingReport {
  std::string title;       // e.g. "easyMoney model version 3".
  std::string created_at;  // RFC 3339.
  // Free-form key/value lines shown first (data source, partition, sizes,
  // chosen parameters, timings).
  std::vector<std::pair<std::string, std::string>> summary;
  // The data-quality report, one line per finding ("missing salary: 1234
  // (imputed with the median, salary_missing=1)").
  std::vector<std::string> data_quality;

  // k-means model selection: inertia (elbow) and silhouette per k.
  struct KCandidate {
    int k = 0;
    double inertia = 0;
    double silhouette = 0;
  };
  std::vector<KCandidate> k_curve;
  int chosen_k = 0;

  // SVD rank selection on the validation split.
  struct RankCandidate {
    int rank = 0;
    double validation_score = 0;  // The selection metric (see rank_metric).
  };
  std::vector<RankCandidate> rank_curve;
  std::string rank_metric;  // e.g. "MAP@7 over acquirers, validation month 2019-01-28".
  int chosen_rank = 0;

  // Cluster sizes and profiles: mean raw (unstandardised) value of each
  // feature and holding rate of each product, per cluster.
  struct ClusterProfile {
    int id = 0;
    int64_t size = 0;
    std::vector<double> feature_means;  // Parallel to feature_names.
    std::vector<double> holding_rates;  // Parallel to product_names.
  };
  std::vector<std::string> feature_names;
  std::vector<std::string> product_names;
  std::vector<ClusterProfile> clusters;

  // Test metrics of the model and each baseline on the same split, model
  // first ("SVD model", "popular acquisitions", "cluster popularity",
  // "segment popularity").
  std::string protocol;  // How the split was made, in one sentence.
  std::vector<std::pair<std::string, RankingMetrics>> methods;

  // Model selection across factorisations (PureSVD, EASE): the best
  // configuration of each on validation, and its test metrics when refitted
  // the way the chosen model is. Reported only: the test split never
  // chooses. The interactions trainer lists both, one maybe "not tried";
  // the easyMoney trainer lists them when it tried EASE.
  struct Factorisation {
    std::string name;           // "PureSVD", "EASE".
    std::string configuration;  // Its best on validation, or why it was not tried.
    bool tried = false;
    double validation_score = 0;  // The selection metric (see rank_metric).
    // Its score on a second validation split, where the finalists of the
    // factorisations are compared (negative: not compared).
    double confirmation_score = -1;
    bool tested = false;
    RankingMetrics test;
    bool chosen = false;
  };
  std::vector<Factorisation> factorisations;

  // The model's test metrics per population group.
  struct GroupMetrics {
    std::string dimension;  // "gender", "age band", "segment", "region".
    std::string group;      // "H", "25-34", "03 - UNIVERSITARIO", "Madrid".
    RankingMetrics model;
    RankingMetrics baseline;  // The first baseline, on the same customers.
  };
  std::vector<GroupMetrics> groups;
  // One line per dimension whose largest gap in the model's main metric
  // between two groups exceeds the threshold the trainer applies.
  std::vector<std::string> fairness_flags;
};

// The manifest's record of the same (docs/model-format.md): protocol,
// methods, fairness lines, the rank and k curves, the factorisations.
void FillManifestEvaluation(const TrainingReport& report, easymoney::model::v1::Evaluation* evaluation);
easymoney::model::v1::MethodMetrics ToMethodMetrics(const std::string& method, const RankingMetrics& metrics);

// Monospace table of report.factorisations for stdout ("" when empty).
std::string FormatFactorisations(const TrainingReport& report);

// Monospace tables for stdout: the methods side by side, then the groups.
std::string FormatMetricsTable(const TrainingReport& report);

// A single HTML page with inline CSS and inline SVG charts (no scripts or
// resources fetched from anywhere): summary, data quality, k-means elbow and
// silhouette curve, rank curve, cluster sizes and profiles, metrics vs
// baselines, metrics per group with the fairness flags.
std::string RenderTrainingReportHtml(const TrainingReport& report);

// Writes RenderTrainingReportHtml(report) to DIR/report.html (creating DIR).
absl::Status WriteTrainingReport(const std::string& dir, const TrainingReport& report);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_TRAINING_REPORT_H_
