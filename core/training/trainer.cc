#include "core/training/trainer.h"

#include "core/model/drift.h"
#include "core/serving/event_log.h"
#include "core/util/progress.h"
#include "absl/strings/numbers.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/model/easymoney_schema.h"
#include "core/training/eligibility.h"
#include "core/training/ease.h"
#include "core/training/evaluation.h"
#include "core/training/kmeans.h"
#include "core/model/model.h"
#include "core/model/model_directory.h"
#include "core/model/recommender.h"
#include "core/training/svd.h"

namespace easymoney {
namespace {

// The SVD input: 1 per product held, `recency_weight` for those acquired in
// the snapshot's month, so recent behaviour can count more.
HoldingsMatrix BuildHoldingsMatrix(const EasyMoneyTables& tables, const EasyMoneySnapshot& snapshot,
                                   double recency_weight) {
  std::vector<Eigen::Triplet<float, int64_t>> triplets;
  for (size_t i = 0; i < snapshot.customer_ids.size(); ++i) {
    const uint16_t recent = Acquired(tables, snapshot.partition, snapshot.table_rows[i]);
    for (int p = 0; p < kNumProducts; ++p) {
      if ((snapshot.holdings[i] >> p) & 1u) {
        triplets.emplace_back(static_cast<int64_t>(i), p,
                              ((recent >> p) & 1u) ? static_cast<float>(recency_weight) : 1.0f);
      }
    }
  }
  HoldingsMatrix matrix(static_cast<int64_t>(snapshot.customer_ids.size()), kNumProducts);
  matrix.setFromTriplets(triplets.begin(), triplets.end());
  return matrix;
}

// Share of the snapshot's customers who acquired each product in its month:
// what an unknown (typically new) customer is most likely to take next.
std::vector<float> AcquisitionRates(const EasyMoneyTables& tables, const EasyMoneySnapshot& snapshot,
                                    const std::vector<int32_t>* groups = nullptr, int num_groups = 1) {
  std::vector<double> counts(static_cast<size_t>(num_groups * kNumProducts), 0);
  std::vector<double> sizes(static_cast<size_t>(num_groups), 0);
  for (size_t i = 0; i < snapshot.customer_ids.size(); ++i) {
    const int g = groups ? (*groups)[i] : 0;
    if (g < 0) continue;
    sizes[g] += 1;
    const uint16_t acquired = Acquired(tables, snapshot.partition, snapshot.table_rows[i]);
    for (int p = 0; p < kNumProducts; ++p) {
      if ((acquired >> p) & 1u) counts[static_cast<size_t>(g * kNumProducts + p)] += 1;
    }
  }
  std::vector<float> rates(counts.size());
  for (int g = 0; g < num_groups; ++g) {
    for (int p = 0; p < kNumProducts; ++p) {
      const size_t i = static_cast<size_t>(g * kNumProducts + p);
      rates[i] = sizes[g] > 0 ? static_cast<float>(counts[i] / sizes[g]) : 0.0f;
    }
  }
  return rates;
}

struct FittedFactors {
  TruncatedSvd svd;
  std::vector<float> popularity;
  double explained_variance = 0;
  // Popularity prior weight on the raw popularity scale (see ScoreProducts).
  float popularity_weight = 0;
};

// The prior's weight is chosen in units of the most popular product's
// score, so the same candidates fit any month; this converts to the raw
// weight ScoreProducts applies.
float RawPopularityWeight(double relative_weight, const std::vector<float>& popularity) {
  const float top = popularity.empty() ? 0.0f : *std::max_element(popularity.begin(), popularity.end());
  return top > 0 ? static_cast<float>(relative_weight / top) : 0.0f;
}

// Reads the server's event log and marks each converted product as held by
// its customer in `snapshot` (the newest month), so what customers contracted
// after the tables were extracted shapes the next version. Clicks and
// impressions are counted but do not change holdings: a click is interest,
// not ownership.
absl::StatusOr<FeedbackUse> ApplyConversions(const std::string& log_dir, EasyMoneySnapshot& snapshot) {
  FeedbackUse use;
  ProgressLine progress("reading the event log", 0);
  auto stats = ReadEventLog(log_dir, [&](const easymoney::model::v1::EventRecord& record) {
    if (record.kind() != "feedback") return;
    ++use.feedback_events;
    if (record.event() != "conversion") return;
    ++use.conversions;
    int product = -1;
    for (int p = 0; p < kNumProducts; ++p) {
      if (kProducts[p].id == record.product_id()) product = p;
    }
    int64_t id = 0;
    const auto row = absl::SimpleAtoi(record.customer_id(), &id)
                         ? std::lower_bound(snapshot.customer_ids.begin(), snapshot.customer_ids.end(), id)
                         : snapshot.customer_ids.end();
    if (product < 0 || row == snapshot.customer_ids.end() || *row != id) {
      ++use.conversions_unknown;
      return;
    }
    uint16_t& held = snapshot.holdings[static_cast<size_t>(row - snapshot.customer_ids.begin())];
    if ((held >> product) & 1u) {
      ++use.conversions_already_held;
      return;
    }
    held = static_cast<uint16_t>(held | (1u << product));
    ++use.conversions_applied;
  });
  progress.Finish();
  if (!stats.ok()) return stats.status();
  use.records = stats->records;
  use.skipped_lines = stats->skipped_lines;
  return use;
}

// ease_regularisation > 0 fits symmetric EASE (core/training/ease.h) with
// that relative lambda instead of PureSVD.
absl::StatusOr<FittedFactors> FitFactors(const EasyMoneyTables& tables, const EasyMoneySnapshot& snapshot, int rank,
                                 double recency_weight, double relative_popularity_weight,
                                 double ease_regularisation = 0) {
  const HoldingsMatrix matrix = BuildHoldingsMatrix(tables, snapshot, recency_weight);
  absl::StatusOr<TruncatedSvd> svd;
  if (ease_regularisation > 0) {
    auto spectrum = ComputeGramSpectrum(matrix);
    if (!spectrum.ok()) return spectrum.status();
    svd = FactorEase(matrix, *spectrum, ease_regularisation, rank);
  } else {
    svd = ComputeTruncatedSvd(matrix, rank);
  }
  if (!svd.ok()) return svd.status();
  FittedFactors fitted;
  // The kept singular values' share of ||R||^2; not defined for EASE,
  // whose factors are not an orthogonal projection of R.
  const double total = static_cast<double>(matrix.squaredNorm());
  fitted.explained_variance = ease_regularisation > 0 || total <= 0
                                  ? -1
                                  : static_cast<double>(svd->singular_values.squaredNorm()) / total;
  fitted.svd = *std::move(svd);
  fitted.popularity = AcquisitionRates(tables, snapshot);
  fitted.popularity_weight = RawPopularityWeight(relative_popularity_weight, fitted.popularity);
  return fitted;
}

struct ClusterFit {
  FeatureSpec spec;
  RowMajorMatrix features;
  KMeansResult kmeans;
};

absl::StatusOr<ClusterFit> FitClusters(const EasyMoneySnapshot& snapshot, int k, const TrainerOptions& options) {
  ClusterFit fit;
  fit.spec = FitFeatureSpec(snapshot.profiles);
  fit.features = EncodeProfiles(fit.spec, snapshot.profiles);
  KMeansOptions kmeans;
  kmeans.num_clusters = k;
  kmeans.restarts = options.kmeans_restarts;
  kmeans.seed = options.seed;
  kmeans.max_fit_points = options.kmeans_max_fit_points;
  auto result = RunKMeans(fit.features, kmeans);
  if (!result.ok()) return result.status();
  fit.kmeans = *std::move(result);
  return fit;
}

std::string AgeBand(const CustomerProfile& p) {
  if (!p.age.has_value()) return "unknown";
  const double age = *p.age;
  if (age < 18) return "<18";
  if (age < 25) return "18-24";
  if (age < 35) return "25-34";
  if (age < 50) return "35-49";
  if (age < 65) return "50-64";
  return "65+";
}

std::string RegionGroup(const CustomerMonth& month) {
  if (month.foreign) return "abroad";
  switch (month.region) {
    case 28:
      return "Madrid";
    case 8:
      return "Barcelona";
    case 46:
      return "Valencia";
    case -1:
      return "unknown";
    default:
      return "rest of Spain";
  }
}

// Metrics of the model (and, when asked, the baselines) predicting the
// acquisitions of month T+1 from the snapshot at T.
struct MonthEvaluator {
  explicit MonthEvaluator(int k)
      : model(k, kNumProducts), popular(k, kNumProducts), cluster(k, kNumProducts), segment(k, kNumProducts) {}
  RankingEvaluator model, popular, cluster, segment;
  // (dimension, group) -> (model, popular baseline).
  std::map<std::pair<std::string, std::string>, std::pair<RankingEvaluator, RankingEvaluator>> groups;
};

absl::Status EvaluateMonth(const EasyMoneyTables& tables, const EasyMoneySnapshot& snapshot, const FittedFactors& fit,
                           uint16_t never_mask, const TrainerOptions& options, int num_clusters,
                           bool with_baselines, MonthEvaluator* out) {
  const int test_partition = snapshot.partition + 1;
  std::vector<float> cluster_rates;
  std::vector<int32_t> clusters;
  std::vector<float> segment_rates;
  std::vector<int32_t> segments;
  if (with_baselines) {
    auto cluster_fit = FitClusters(snapshot, num_clusters, options);
    if (!cluster_fit.ok()) return cluster_fit.status();
    clusters = cluster_fit->kmeans.assignments;
    cluster_rates = AcquisitionRates(tables, snapshot, &clusters, num_clusters);
    for (const CustomerProfile& p : snapshot.profiles) {
      const auto it = p.segment ? std::find(kSegments.begin(), kSegments.end(), *p.segment) : kSegments.end();
      segments.push_back(it == kSegments.end() ? -1 : static_cast<int32_t>(it - kSegments.begin()));
    }
    segment_rates = AcquisitionRates(tables, snapshot, &segments, static_cast<int>(kSegments.size()));
  }
  std::vector<float> scores(kNumProducts);
  std::vector<uint8_t> excluded(kNumProducts);
  // Scored by the server's kernel, so the backtest ranks as serving does.
  const PackedFactors packed(fit.svd.product_factors);
  const std::vector<float> bias = ProductScoreBias(fit.popularity, fit.popularity_weight);
  std::vector<int32_t> relevant;
  for (size_t i = 0; i < snapshot.customer_ids.size(); ++i) {
    const size_t row = snapshot.table_rows[i];
    const CustomerMonth& next = tables.at(test_partition, row);
    if (!next.present) continue;
    // Deceased customers are shown nothing; they are not evaluated.
    if (tables.at(snapshot.partition, row).deceased) continue;
    const auto& age = snapshot.profiles[i].age;
    const uint16_t ineligible = (!age.has_value() || *age < kAdultAge) ? AdultOnlyMask() : 0;
    const uint16_t held = snapshot.holdings[i];
    relevant.clear();
    for (int p = 0; p < kNumProducts; ++p) {
      excluded[p] = static_cast<uint8_t>(((held | never_mask | ineligible) >> p) & 1u);
      if (((next.holdings & ~held & ~never_mask) >> p) & 1u) relevant.push_back(p);
    }
    const std::span<const float> factors(fit.svd.customer_factors.row(static_cast<Eigen::Index>(i)).data(),
                                         static_cast<size_t>(fit.svd.customer_factors.cols()));
    ScoreProducts(packed, factors, fit.popularity, bias, scores);
    out->model.Add(scores, excluded, relevant);
    if (!with_baselines) continue;
    out->popular.Add(fit.popularity, excluded, relevant);
    out->cluster.Add(std::span<const float>(cluster_rates).subspan(static_cast<size_t>(clusters[i] * kNumProducts),
                                                                   kNumProducts),
                     excluded, relevant);
    out->segment.Add(segments[i] < 0 ? std::span<const float>(fit.popularity)
                                     : std::span<const float>(segment_rates)
                                           .subspan(static_cast<size_t>(segments[i] * kNumProducts), kNumProducts),
                     excluded, relevant);
    const CustomerProfile& profile = snapshot.profiles[i];
    const std::pair<std::string, std::string> keys[] = {
        {"gender", profile.gender.value_or("unknown")},
        {"age band", AgeBand(profile)},
        {"segment", profile.segment.value_or("unknown")},
        {"region", RegionGroup(tables.at(snapshot.partition, row))},
    };
    for (const auto& key : keys) {
      auto it = out->groups.find(key);
      if (it == out->groups.end()) {
        it = out->groups
                 .emplace(key, std::make_pair(RankingEvaluator(options.k, kNumProducts),
                                              RankingEvaluator(options.k, kNumProducts)))
                 .first;
      }
      it->second.first.Add(scores, excluded, relevant);
      it->second.second.Add(fit.popularity, excluded, relevant);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TrainingSummary> TrainEasyMoneyModel(const TrainerOptions& options) {
  auto tables = ReadEasyMoneyTables(options.data_dir);
  if (!tables.ok()) return tables.status();
  return TrainEasyMoneyModel(*tables, options);
}

absl::StatusOr<TrainingSummary> TrainEasyMoneyModel(const EasyMoneyTables& tables, const TrainerOptions& options) {
  const absl::Time start = absl::Now();
  const uint16_t never_mask = NeverRecommendMask(tables.quality);
  if (options.last_partition > tables.newest_partition) {
    return absl::InvalidArgumentError(absl::StrCat("last_partition ", options.last_partition,
                                                   " is after the newest partition in the data, ",
                                                   tables.newest_partition));
  }
  const int newest = options.last_partition >= 0 ? options.last_partition : tables.newest_partition;

  TrainingSummary summary;
  TrainingReport& report = summary.report;
  report.data_quality = tables.quality.Lines();
  for (const ProductInfo& p : kProducts) report.product_names.emplace_back(p.id);

  EasyMoneySnapshot latest = SnapshotAt(tables, newest);
  const int64_t num_customers = static_cast<int64_t>(latest.customer_ids.size());
  if (!options.feedback_log_dir.empty()) {
    auto used = ApplyConversions(options.feedback_log_dir, latest);
    if (!used.ok()) return used.status();
    summary.feedback = *used;
  }

  // k for k-means: silhouette over the candidates, on the newest snapshot.
  int num_clusters = options.num_clusters;
  std::string selection;
  if (num_clusters <= 0) {
    std::fprintf(stderr, "choosing k by silhouette over %zu candidates\n", options.cluster_candidates.size());
    const FeatureSpec spec = FitFeatureSpec(latest.profiles);
    const RowMajorMatrix features = EncodeProfiles(spec, latest.profiles);
    double best_silhouette = -2;
    for (int k : options.cluster_candidates) {
      if (k < 2 || k > num_customers) continue;
      KMeansOptions kmeans;
      kmeans.num_clusters = k;
      kmeans.restarts = options.kmeans_restarts;
      kmeans.seed = options.seed;
      kmeans.max_fit_points = std::min<int64_t>(options.kmeans_max_fit_points, 20000);
      auto result = RunKMeans(features, kmeans);
      if (!result.ok()) return result.status();
      const double silhouette = SilhouetteScore(features, result->assignments, k, 2000, options.seed);
      report.k_curve.push_back({k, result->inertia, silhouette});
      if (silhouette > best_silhouette) {
        best_silhouette = silhouette;
        num_clusters = k;
      }
    }
    if (num_clusters <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("too few customers (", num_customers, ") to choose k"));
    }
    selection = absl::StrFormat("k=%d by the highest silhouette (%.3f) over k in {%s}; ", num_clusters,
                                best_silhouette, absl::StrJoin(options.cluster_candidates, ","));
  }
  report.chosen_k = num_clusters;

  // Rank and recency weighting on the validation month, then the rolling
  // backtest on the months after it.
  const int first_test = newest - options.backtest_months;  // First T of the backtest.
  const int validation = first_test - 1;
  const bool can_evaluate = options.backtest_months > 0 && validation >= 1;
  int rank = options.num_factors;
  double recency_weight = options.recency_weight > 0 ? options.recency_weight : 1.0;
  double popularity_weight = std::max(0.0, options.popularity_weight);
  double ease_regularisation = 0;  // 0: PureSVD.
  // The best of each factorisation on validation, for the report.
  struct FamilyBest {
    double score = -1;
    int rank = 0;
    double recency_weight = 1;
    double popularity_weight = 0;
    double ease_regularisation = 0;
    double confirmation = -1;  // MAP@k on the month before validation.
  };
  FamilyBest best_svd;
  FamilyBest best_ease;
  // EASE factors the whole (15-product) catalogue; a rank fixed by the
  // caller asks for PureSVD.
  const std::vector<double> ease_candidates =
      options.num_factors > 0 ? std::vector<double>{} : options.ease_candidates;
  if (can_evaluate && (options.num_factors <= 0 || options.recency_weight <= 0 || options.popularity_weight < 0)) {
    const EasyMoneySnapshot snapshot = SnapshotAt(tables, validation);
    report.rank_metric = absl::StrCat("MAP@", options.k, " over acquirers, trained on ", kPartitions[validation],
                                      ", validated on acquisitions in ", kPartitions[validation + 1]);
    std::vector<int> ranks = options.num_factors > 0 ? std::vector<int>{options.num_factors} : options.rank_candidates;
    std::vector<double> weights =
        options.recency_weight > 0 ? std::vector<double>{options.recency_weight} : options.recency_candidates;
    std::vector<double> priors = options.popularity_weight >= 0 ? std::vector<double>{options.popularity_weight}
                                                                : options.popularity_candidates;
    double best = -1;
    std::fprintf(stderr, "choosing rank and recency weight on %s\n", std::string(kPartitions[validation]).c_str());
    // The rank curve shows, per rank, the best score over the other
    // hyper-parameters.
    std::map<int, double> best_per_rank;
    // MAP@k over acquirers of a configuration trained on `month`, scored on
    // the next month's acquisitions.
    const auto score_on = [&](const EasyMoneySnapshot& month, int candidate_rank, double weight, double prior,
                              double ease_lambda) -> absl::StatusOr<double> {
      auto fit = FitFactors(tables, month, candidate_rank, weight, prior, ease_lambda);
      if (!fit.ok()) return fit.status();
      MonthEvaluator evaluator(options.k);
      if (auto s = EvaluateMonth(tables, month, *fit, never_mask, options, num_clusters, false, &evaluator);
          !s.ok()) {
        return s;
      }
      return evaluator.model.Result().map_relevant;
    };
    for (double prior : priors) {
      for (double weight : weights) {
        for (int candidate : ranks) {
          if (candidate < 1 || candidate > kNumProducts) continue;
          auto scored = score_on(snapshot, candidate, weight, prior, 0);
          if (!scored.ok()) return scored.status();
          const double score = *scored;
          best_per_rank[candidate] = std::max(best_per_rank[candidate], score);
          std::fprintf(stderr, "  validation rank=%d recency=%g prior=%g: %.4f\n", candidate, weight, prior, score);
          if (score > best_svd.score + 1e-9) best_svd = {score, candidate, weight, prior, 0, -1};
        }
        for (double lambda : ease_candidates) {
          auto scored = score_on(snapshot, kNumProducts, weight, prior, lambda);
          if (!scored.ok()) return scored.status();
          const double score = *scored;
          std::fprintf(stderr, "  validation EASE regularisation=%g recency=%g prior=%g: %.4f\n", lambda, weight,
                       prior, score);
          if (score > best_ease.score + 1e-9) best_ease = {score, kNumProducts, weight, prior, lambda, -1};
        }
      }
    }
    // The finalists are compared on the month before (trained on
    // validation - 1, scored on the acquisitions of the validation month,
    // still before every backtest month): each one's validation score is
    // the maximum over its own grid, and the grids differ in size, so
    // comparing those maxima would favour the larger one. Strictly better
    // only: a tie keeps PureSVD.
    bool ease_wins = best_svd.score < 0 && best_ease.score >= 0;  // No PureSVD candidate at all.
    if (best_ease.score >= 0 && best_svd.score >= 0 && validation >= 1) {
      const EasyMoneySnapshot before = SnapshotAt(tables, validation - 1);
      for (FamilyBest* finalist : {&best_svd, &best_ease}) {
        auto scored = score_on(before, finalist->rank, finalist->recency_weight, finalist->popularity_weight,
                               finalist->ease_regularisation);
        if (!scored.ok()) return scored.status();
        finalist->confirmation = *scored;
      }
      std::fprintf(stderr, "  finalists on %s: PureSVD %.4f, EASE %.4f\n",
                   std::string(kPartitions[validation - 1]).c_str(), best_svd.confirmation, best_ease.confirmation);
      ease_wins = best_ease.confirmation > best_svd.confirmation + 1e-9;
    }
    const FamilyBest& chosen = ease_wins ? best_ease : best_svd;
    best = chosen.score;
    rank = chosen.rank;
    recency_weight = chosen.recency_weight;
    popularity_weight = chosen.popularity_weight;
    ease_regularisation = chosen.ease_regularisation;
    // The curve of the chosen factorisation: PureSVD's over its ranks;
    // EASE's one point at the whole catalogue.
    if (ease_regularisation > 0) {
      report.rank_curve.push_back({rank, best});
    } else {
      for (const auto& [candidate, score] : best_per_rank) report.rank_curve.push_back({candidate, score});
    }
    selection += absl::StrFormat("%s, rank=%d, recency weight=%g, popularity prior=%g by the best %s (%.4f)",
                                 ease_regularisation > 0
                                     ? absl::StrFormat("EASE (regularisation %g)", ease_regularisation)
                                     : std::string("PureSVD"),
                                 rank, recency_weight, popularity_weight, report.rank_metric, best);
    if (best_svd.confirmation >= 0 && best_ease.confirmation >= 0) {
      selection += absl::StrFormat("; chosen over %s on %s: MAP@%d over acquirers PureSVD %.4f, EASE %.4f",
                                   ease_regularisation > 0 ? "PureSVD" : "EASE",
                                   std::string(kPartitions[validation - 1]), options.k, best_svd.confirmation,
                                   best_ease.confirmation);
    }
  } else if (rank <= 0) {
    rank = std::min(6, kNumProducts);
    selection += "rank=6 (default: too few partitions to validate)";
  }
  report.chosen_rank = rank;

  if (can_evaluate) {
    MonthEvaluator total(options.k);
    MonthEvaluator other_total(options.k);
    for (int t = first_test; t < newest; ++t) {
      std::fprintf(stderr, "backtest: train on %s, test acquisitions in %s\n", std::string(kPartitions[t]).c_str(),
                   std::string(kPartitions[t + 1]).c_str());
      const EasyMoneySnapshot snapshot = SnapshotAt(tables, t);
      auto fit = FitFactors(tables, snapshot, rank, recency_weight, popularity_weight, ease_regularisation);
      if (!fit.ok()) return fit.status();
      MonthEvaluator month(options.k);
      if (auto s = EvaluateMonth(tables, snapshot, *fit, never_mask, options, num_clusters, true, &month); !s.ok()) {
        return s;
      }
      // The factorisation not chosen, on the same months, for the report.
      if (best_ease.score >= 0) {
        const FamilyBest& other = ease_regularisation > 0 ? best_svd : best_ease;
        auto other_fit = FitFactors(tables, snapshot, other.rank, other.recency_weight, other.popularity_weight,
                                other.ease_regularisation);
        if (!other_fit.ok()) return other_fit.status();
        if (auto s = EvaluateMonth(tables, snapshot, *other_fit, never_mask, options, num_clusters, false,
                                   &other_total);
            !s.ok()) {
          return s;
        }
      }
      total.model.Merge(month.model);
      total.popular.Merge(month.popular);
      total.cluster.Merge(month.cluster);
      total.segment.Merge(month.segment);
      for (auto& [key, pair] : month.groups) {
        auto it = total.groups.find(key);
        if (it == total.groups.end()) {
          total.groups.emplace(key, pair);
        } else {
          it->second.first.Merge(pair.first);
          it->second.second.Merge(pair.second);
        }
      }
    }
    report.protocol = absl::StrCat("rolling backtest: for T in ", kPartitions[first_test], " .. ",
                                   kPartitions[newest - 1], ", train on month T, test on products acquired in T+1 "
                                   "(held in T+1, not in T) by customers present in both; held products and "
                                   "products the eligibility rules withhold excluded, deceased customers skipped");
    if (best_ease.score >= 0) {
      const auto describe = [&](const FamilyBest& f) {
        return absl::StrFormat("%srank %d, recency weight %g, popularity prior %g",
                               f.ease_regularisation > 0
                                   ? absl::StrFormat("regularisation %g, ", f.ease_regularisation)
                                   : std::string(),
                               f.rank, f.recency_weight, f.popularity_weight);
      };
      const bool ease_chosen = ease_regularisation > 0;
      TrainingReport::Factorisation svd{"PureSVD", describe(best_svd), true, best_svd.score, best_svd.confirmation,
                                        true, ease_chosen ? other_total.model.Result() : total.model.Result(),
                                        !ease_chosen};
      TrainingReport::Factorisation ease{"EASE", describe(best_ease), true, best_ease.score, best_ease.confirmation,
                                         true, ease_chosen ? total.model.Result() : other_total.model.Result(),
                                         ease_chosen};
      report.factorisations = {std::move(svd), std::move(ease)};
    }
    report.methods = {{"SVD model", total.model.Result()},
                      {"popular acquisitions", total.popular.Result()},
                      {"cluster popularity", total.cluster.Result()},
                      {"segment popularity", total.segment.Result()}};
    // Fairness: per dimension, the largest gap of the model's MAP between
    // groups large enough to measure.
    std::map<std::string, std::vector<std::pair<std::string, double>>> by_dimension;
    for (const auto& [key, pair] : total.groups) {
      const RankingMetrics model = pair.first.Result();
      report.groups.push_back({key.first, key.second, model, pair.second.Result()});
      if (model.relevant_customers >= 30) by_dimension[key.first].emplace_back(key.second, model.map_relevant);
    }
    const double overall = report.methods.front().second.map_relevant;
    for (const auto& [dimension, values] : by_dimension) {
      if (values.size() < 2) continue;
      const auto [low, high] = std::minmax_element(values.begin(), values.end(),
                                                   [](const auto& a, const auto& b) { return a.second < b.second; });
      const double gap = high->second - low->second;
      const bool flagged = overall > 0 && gap > options.fairness_gap_threshold * overall;
      report.fairness_flags.push_back(absl::StrFormat(
          "%s%s: largest gap %.4f in MAP@%d (relevant) between %s (%.4f) and %s (%.4f)%s", flagged ? "FLAG " : "",
          dimension, gap, options.k, high->first, high->second, low->first, low->second,
          flagged ? absl::StrFormat(", above %.0f%% of the overall %.4f", 100 * options.fairness_gap_threshold, overall)
                  : ""));
    }
  }

  // The model version itself, on the newest month.
  std::fprintf(stderr, "fitting rank %d %s and k=%d k-means on %s (%lld customers)\n", rank,
               ease_regularisation > 0 ? "EASE" : "SVD", num_clusters, std::string(kPartitions[newest]).c_str(),
               static_cast<long long>(num_customers));
  auto fit = FitFactors(tables, latest, rank, recency_weight, popularity_weight, ease_regularisation);
  if (!fit.ok()) return fit.status();
  auto clusters = FitClusters(latest, num_clusters, options);
  if (!clusters.ok()) return clusters.status();

  ModelArrays arrays;
  arrays.customer_ids = latest.customer_ids;
  arrays.holdings_indptr.reserve(static_cast<size_t>(num_customers) + 1);
  arrays.holdings_indptr.push_back(0);
  for (int64_t i = 0; i < num_customers; ++i) {
    for (int p = 0; p < kNumProducts; ++p) {
      if ((latest.holdings[i] >> p) & 1u) arrays.holdings_indices.push_back(p);
    }
    arrays.holdings_indptr.push_back(static_cast<int64_t>(arrays.holdings_indices.size()));
  }
  arrays.customer_factors = std::move(fit->svd.customer_factors);
  arrays.product_factors = std::move(fit->svd.product_factors);
  arrays.singular_values = std::move(fit->svd.singular_values);
  arrays.product_popularity = fit->popularity;
  arrays.cluster_centroids = clusters->kmeans.centroids;
  arrays.customer_clusters = clusters->kmeans.assignments;
  // What the product rules need for customers who send no profile.
  arrays.customer_ages.reserve(static_cast<size_t>(num_customers));
  arrays.customer_flags.reserve(static_cast<size_t>(num_customers));
  for (int64_t i = 0; i < num_customers; ++i) {
    arrays.customer_ages.push_back(latest.profiles[i].age.has_value() ? static_cast<int32_t>(*latest.profiles[i].age)
                                                                      : -1);
    arrays.customer_flags.push_back(tables.at(newest, latest.table_rows[i]).deceased ? 1 : 0);
  }

  // Cluster profiles for the report, in raw units.
  for (const auto& feature : clusters->spec) report.feature_names.push_back(feature.name());
  report.clusters.resize(static_cast<size_t>(num_clusters));
  for (int c = 0; c < num_clusters; ++c) {
    report.clusters[c].id = c;
    report.clusters[c].feature_means.assign(clusters->spec.size(), 0);
    report.clusters[c].holding_rates.assign(kNumProducts, 0);
  }
  for (int64_t i = 0; i < num_customers; ++i) {
    auto& profile = report.clusters[arrays.customer_clusters[i]];
    ++profile.size;
    for (size_t f = 0; f < clusters->spec.size(); ++f) {
      profile.feature_means[f] +=
          clusters->features(i, static_cast<Eigen::Index>(f)) * clusters->spec[f].stddev() + clusters->spec[f].mean();
    }
    for (int p = 0; p < kNumProducts; ++p) profile.holding_rates[p] += (latest.holdings[i] >> p) & 1u;
  }
  for (auto& profile : report.clusters) {
    const double size = std::max<int64_t>(1, profile.size);
    for (double& v : profile.feature_means) v /= size;
    for (double& v : profile.holding_rates) v /= size;
  }

  easymoney::model::v1::ModelManifest manifest;
  manifest.set_format_version(kModelFormatVersion);
  manifest.set_created_at(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()));
  manifest.set_num_customers(static_cast<int32_t>(num_customers));
  manifest.set_num_products(kNumProducts);
  manifest.set_num_factors(rank);
  manifest.set_num_clusters(num_clusters);
  manifest.set_num_features(static_cast<int32_t>(clusters->spec.size()));
  for (int p = 0; p < kNumProducts; ++p) {
    auto* product = manifest.add_products();
    product->set_id(std::string(kProducts[p].id));
    product->set_name(std::string(kProducts[p].name));
    product->set_family(std::string(kProducts[p].family));
    product->set_never_recommend(((never_mask >> p) & 1u) != 0);
  }
  for (const auto& feature : clusters->spec) *manifest.add_features() = feature;
  // easyMoney's eligibility rules: credit products and pension plans for
  // adults only, nothing for deceased customers.
  for (const char* product : kAdultOnlyProducts) {
    auto* rule = manifest.mutable_rules()->add_minimum_age();
    rule->set_product_id(product);
    rule->set_age(kAdultAge);
  }
  manifest.mutable_rules()->set_nothing_for_deceased(true);
  // What cold-start traffic is compared with for drift (PSI).
  {
    std::vector<double> ages, salaries;
    for (const CustomerProfile& profile : latest.profiles) {
      if (profile.age.has_value()) ages.push_back(*profile.age);
      if (profile.salary.has_value()) salaries.push_back(*profile.salary);
    }
    *manifest.add_feature_distributions() = DecileDistribution("age", std::move(ages));
    *manifest.add_feature_distributions() = DecileDistribution("salary", std::move(salaries));
  }
  auto* training = manifest.mutable_training();
  training->set_num_factors(rank);
  training->set_num_clusters(num_clusters);
  training->set_seed(static_cast<uint32_t>(options.seed));
  training->set_partition(std::string(kPartitions[newest]));
  if (!options.feedback_log_dir.empty()) {
    training->set_feedback_log(std::filesystem::absolute(options.feedback_log_dir).string());
    training->set_feedback_conversions_applied(summary.feedback.conversions_applied);
  }
  training->set_data_source(std::filesystem::absolute(options.data_dir).string());
  training->set_kmeans_restarts(options.kmeans_restarts);
  training->set_kmeans_inertia(clusters->kmeans.inertia);
  training->set_recency_weight(recency_weight);
  training->set_popularity_weight(fit->popularity_weight);
  training->set_selection(selection);
  FillManifestEvaluation(report, manifest.mutable_evaluation());

  // Refuse to publish something the server would refuse.
  if (auto check = Model::FromArrays(1, manifest, arrays); !check.ok()) {
    return absl::InternalError(absl::StrCat("trained model failed validation: ", check.status().message()));
  }
  auto version = WriteModelVersion(options.model_base, manifest, arrays);
  if (!version.ok()) return version.status();

  summary.version = *version;
  summary.version_dir = (std::filesystem::path(options.model_base) / std::to_string(*version)).string();
  summary.partition = std::string(kPartitions[newest]);
  summary.num_customers = num_customers;
  summary.num_products = kNumProducts;
  summary.num_factors = rank;
  summary.num_clusters = num_clusters;
  summary.recency_weight = recency_weight;
  summary.explained_variance = fit->explained_variance;
  summary.kmeans_inertia = clusters->kmeans.inertia;

  report.title = absl::StrCat("easyMoney model version ", *version);
  report.created_at = manifest.created_at();
  report.summary.insert(
      report.summary.begin(),
      {{"data", manifest.training().data_source()},
       {"training partition", summary.partition},
       {"customers", absl::StrCat(num_customers)},
       {"products", absl::StrCat(kNumProducts)},
       {"factorisation", ease_regularisation > 0
                             ? absl::StrFormat("EASE, regularisation %g (relative)", ease_regularisation)
                             : std::string("PureSVD")},
       {"factors (rank)", absl::StrCat(rank)},
       {"recency weight", absl::StrFormat("%g", recency_weight)},
       {"popularity prior (relative)", absl::StrFormat("%g", popularity_weight)},
       {"k-means k", absl::StrCat(num_clusters)},
       {"selection", selection},
       {"explained variance", summary.explained_variance >= 0
                                  ? absl::StrFormat("%.1f%%", 100 * summary.explained_variance)
                                  : std::string("n/a (EASE)")},
       {"training time", absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1)))}});
  return summary;
}

}  // namespace easymoney
