#include "core/training/training_report.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_model.h"

namespace easymoney {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

RankingMetrics Metrics(double map_relevant, int64_t customers) {
  RankingMetrics m;
  m.k = 7;
  m.customers = customers;
  m.relevant_customers = customers / 10;
  m.map_relevant = map_relevant;
  m.map = map_relevant / 10;
  m.map_full_normaliser = map_relevant * 0.9;
  m.precision = 0.0625;
  m.recall = 0.5125;
  m.ndcg = 0.4375;
  m.hit_rate = 0.625;
  m.coverage = 0.75;
  return m;
}

TrainingReport SampleReport() {
  TrainingReport report;
  report.title = "easyMoney model version 3";
  report.created_at = "2024-05-01T12:00:00Z";
  report.summary = {{"data", "/data/easymoney (17 partitions)"}, {"customers", "120000"}, {"rank", "8"}};
  report.data_quality = {"missing salary: 1234 (imputed with the median, salary_missing=1)",
                         "unknown region: 12"};
  report.k_curve = {{2, 900000, 0.21}, {4, 610000, 0.32}, {6, 480000, 0.29}, {8, 420000, 0.25}};
  report.chosen_k = 4;
  report.rank_curve = {{2, 0.31}, {4, 0.35}, {8, 0.38}, {12, 0.37}};
  report.rank_metric = "MAP@7 over acquirers, validation month 2019-01-28";
  report.chosen_rank = 8;
  report.feature_names = {"age", "salary", "months active"};
  report.product_names = {"debit_card", "pension_plan", "em_acount"};
  for (int c = 0; c < 4; ++c) {
    report.clusters.push_back({c, 30000 + 1000 * c, {30.0 + c, 50000.0 * (c + 1), 12.0}, {0.1 * c, 0.02, 0.9}});
  }
  report.protocol = "Trained on partitions up to 2019-04-28, tested on acquisitions in 2019-05-28.";
  report.methods = {{"SVD model", Metrics(0.4321, 120000)},
                    {"popular acquisitions", Metrics(0.3000, 120000)},
                    {"cluster popularity", Metrics(0.3600, 120000)},
                    {"segment popularity", Metrics(0.3300, 120000)}};
  report.groups = {{"gender", "H", Metrics(0.44, 60000), Metrics(0.30, 60000)},
                   {"gender", "V", Metrics(0.42, 60000), Metrics(0.31, 60000)},
                   {"region", "<b>&", Metrics(0.20, 300), Metrics(0.25, 300)},
                   {"region", "Madrid", Metrics(0.45, 40000), Metrics(0.30, 40000)}};
  report.fairness_flags = {"region: MAP@7 gap 0.25 between Madrid and <b>& exceeds 0.10"};
  return report;
}

int Count(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

// "nan", "-nan", "inf" or "infinity" as a word, in any case (so "financial"
// and "information" do not count).
bool HasNonFiniteText(const std::string& text) {
  static const std::regex kNonFinite(R"(\b(nan|inf|infinity)\b)", std::regex::icase);
  return std::regex_search(text, kNonFinite);
}

TEST(TrainingReportTest, HtmlHasEverySection) {
  const std::string html = RenderTrainingReportHtml(SampleReport());
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(html, HasSubstr("easyMoney model version 3"));
  EXPECT_THAT(html, HasSubstr("2024-05-01T12:00:00Z"));
  for (const char* title : {"Summary", "Data quality", "Choosing k", "Choosing the SVD rank", "Clusters",
                            "Model vs baselines", "Fairness"}) {
    EXPECT_THAT(html, HasSubstr(std::string("<h2>") + title + "</h2>")) << title;
  }
  EXPECT_THAT(html, HasSubstr("missing salary: 1234"));
  EXPECT_THAT(html, HasSubstr("chosen k = 4"));
  EXPECT_THAT(html, HasSubstr("chosen rank = 8"));
}

TEST(TrainingReportTest, HtmlHasOneSvgPerChart) {
  // k curve, rank curve, cluster sizes, methods, and one per fairness dimension (gender, region).
  EXPECT_EQ(Count(RenderTrainingReportHtml(SampleReport()), "<svg"), 6);
}

TEST(TrainingReportTest, HtmlSkipsRankSectionWithoutRankCurve) {
  TrainingReport report = SampleReport();
  report.rank_curve.clear();
  const std::string html = RenderTrainingReportHtml(report);
  EXPECT_THAT(html, Not(HasSubstr("Choosing the SVD rank")));
  EXPECT_EQ(Count(html, "<svg"), 5);
}

TEST(TrainingReportTest, HtmlFetchesNothing) {
  const std::string html = RenderTrainingReportHtml(SampleReport());
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
}

TEST(TrainingReportTest, HtmlEscapesText) {
  TrainingReport report = SampleReport();
  report.summary.push_back({"note", "it's \"quoted\""});
  const std::string html = RenderTrainingReportHtml(report);
  EXPECT_THAT(html, Not(HasSubstr("<b>&")));
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;&amp;"));
  EXPECT_THAT(html, HasSubstr("it&#39;s &quot;quoted&quot;"));
}

TEST(TrainingReportTest, HtmlHasNoNonFiniteNumbersEvenWhenGivenThem) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  TrainingReport report = SampleReport();
  report.k_curve[1].inertia = nan;
  report.k_curve[2].silhouette = inf;
  report.rank_curve[0].validation_score = nan;
  report.clusters[0].feature_means[1] = nan;
  report.clusters[1].holding_rates[0] = -inf;
  report.methods[0].second.map_relevant = nan;
  report.methods[2].second.ndcg = inf;
  report.groups[0].model.map_relevant = nan;
  report.groups[2].baseline.map_relevant = inf;
  const std::string html = RenderTrainingReportHtml(report);
  EXPECT_FALSE(HasNonFiniteText(html));
  EXPECT_FALSE(HasNonFiniteText(FormatMetricsTable(report)));
  EXPECT_THAT(html, HasSubstr("n/a"));
}

TEST(TrainingReportTest, HtmlHandlesAnEmptyReport) {
  const std::string html = RenderTrainingReportHtml(TrainingReport{});
  EXPECT_THAT(html, HasSubstr("<h2>Fairness</h2>"));
  EXPECT_EQ(Count(html, "<svg"), 0);
  EXPECT_FALSE(HasNonFiniteText(html));
  EXPECT_FALSE(HasNonFiniteText(FormatMetricsTable(TrainingReport{})));
}

TEST(TrainingReportTest, HtmlChartsSurviveFlatAndSinglePointCurves) {
  TrainingReport report = SampleReport();
  report.k_curve = {{5, 0, 0}};
  report.chosen_k = 5;
  report.rank_curve = {{3, 0}, {4, 0}};
  for (auto& [name, m] : report.methods) m = RankingMetrics{};
  const std::string html = RenderTrainingReportHtml(report);
  EXPECT_EQ(Count(html, "<svg"), 6);
  EXPECT_FALSE(HasNonFiniteText(html));
  EXPECT_THAT(html, HasSubstr("chosen k = 5"));
}

TEST(TrainingReportTest, MetricsTableListsMethodsWithFormattedNumbers) {
  const std::string table = FormatMetricsTable(SampleReport());
  for (const char* name : {"SVD model", "popular acquisitions", "cluster popularity", "segment popularity"}) {
    EXPECT_THAT(table, HasSubstr(name));
  }
  EXPECT_THAT(table, HasSubstr("MAP@7 rel"));
  EXPECT_THAT(table, HasSubstr("0.4321"));
  EXPECT_THAT(table, HasSubstr("0.5125"));
  EXPECT_THAT(table, HasSubstr("120000"));
  // 0.4321 over the best baseline, cluster popularity at 0.3600.
  EXPECT_THAT(table, HasSubstr("\"cluster popularity\""));
  EXPECT_THAT(table, HasSubstr("+20.0%"));
}

TEST(TrainingReportTest, MetricsTableListsGroupsAndFlags) {
  const std::string table = FormatMetricsTable(SampleReport());
  EXPECT_THAT(table, HasSubstr("Madrid"));
  EXPECT_THAT(table, HasSubstr("gender"));
  EXPECT_THAT(table, HasSubstr("0.4400"));
  EXPECT_THAT(table, HasSubstr("! region: MAP@7 gap 0.25"));
}

TrainingReport WithFactorisations() {
  TrainingReport report = SampleReport();
  TrainingReport::Factorisation svd{"PureSVD", "rank 8, prior 1", true, 0.38, 0.371, true, Metrics(0.4321, 120000),
                                    false};
  TrainingReport::Factorisation ease{"EASE", "regularisation 2 & <rank 15>", true, 0.39, 0.372, true,
                                     Metrics(0.4400, 120000), true};
  report.factorisations = {svd, ease};
  return report;
}

TEST(TrainingReportTest, FactorisationsAppearInTheHtmlTheTextTableAndTheManifest) {
  const TrainingReport report = WithFactorisations();
  const std::string html = RenderTrainingReportHtml(report);
  EXPECT_THAT(html, HasSubstr("<h2>Factorisations</h2>"));
  EXPECT_THAT(html, HasSubstr("EASE (chosen)"));
  EXPECT_THAT(html, HasSubstr("regularisation 2 &amp; &lt;rank 15&gt;"));
  EXPECT_THAT(html, HasSubstr("0.3900"));

  const std::string text = FormatFactorisations(report);
  EXPECT_THAT(text, HasSubstr("PureSVD "));
  EXPECT_THAT(text, HasSubstr("EASE (chosen)"));
  EXPECT_THAT(text, HasSubstr("0.3800"));

  easymoney::model::v1::Evaluation evaluation;
  FillManifestEvaluation(report, &evaluation);
  ASSERT_EQ(evaluation.factorisations_size(), 2);
  EXPECT_EQ(evaluation.factorisations(1).name(), "EASE");
  EXPECT_TRUE(evaluation.factorisations(1).chosen());
  EXPECT_FALSE(evaluation.factorisations(0).chosen());
  EXPECT_DOUBLE_EQ(evaluation.factorisations(0).validation_score(), 0.38);
  EXPECT_DOUBLE_EQ(evaluation.factorisations(1).confirmation_score(), 0.372);
  EXPECT_THAT(text, HasSubstr("0.3720"));
  EXPECT_DOUBLE_EQ(evaluation.factorisations(1).test().precision(), report.factorisations[1].test.precision);
  EXPECT_EQ(evaluation.methods_size(), 4);
  EXPECT_EQ(evaluation.rank_curve_size(), 4);
}

TEST(TrainingReportTest, NoFactorisationsNoSection) {
  EXPECT_THAT(RenderTrainingReportHtml(SampleReport()), Not(HasSubstr("Factorisations")));
  EXPECT_EQ(FormatFactorisations(SampleReport()), "");
}

TEST(TrainingReportTest, WritesReportHtmlIntoNewDirectory) {
  const std::string dir = testing::MakeTempDir("report") + "/nested/report";
  ASSERT_TRUE(WriteTrainingReport(dir, SampleReport()).ok());
  std::ifstream file(dir + "/report.html");
  ASSERT_TRUE(file.good());
  std::stringstream contents;
  contents << file.rdbuf();
  EXPECT_EQ(contents.str(), RenderTrainingReportHtml(SampleReport()));
}

TEST(TrainingReportTest, FailsWithClearStatusUnderARegularFile) {
  const std::string file = testing::MakeTempDir("report") + "/plain_file";
  std::ofstream(file) << "not a directory";
  const absl::Status status = WriteTrainingReport(file + "/report_dir", SampleReport());
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr(file + "/report_dir"));
  EXPECT_THAT(status.message(), HasSubstr("Not a directory"));
}

}  // namespace
}  // namespace easymoney
