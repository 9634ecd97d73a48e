#ifndef EASYMONEY_CORE_TRAINING_BLEND_H_
#define EASYMONEY_CORE_TRAINING_BLEND_H_

#include "absl/status/statusor.h"
#include "core/model/matrix.h"
#include "core/training/svd.h"

namespace easymoney {

// A weighted sum of two factor models, served as one.
//
// Concatenating the product factors of two models, [Q_a, c Q_b], makes the
// dot products the weighted sum of their scores:
//   x [Q_a, c Q_b] [Q_a, c Q_b]^T = x Q_a Q_a^T + c^2 x Q_b Q_b^T.
// With customer_factors = X [Q_a, c Q_b] the server's fold-in (the sum of
// the held products' factors) stays exact, so the blend needs nothing new
// from the model format. The interactions trainer blends EASE (fine
// item-item structure) with a low-rank PureSVD subspace (the broad taste
// directions EASE's partial correlations leave out); on MovieLens 100K the
// blend beats both on validation (docs/evaluation-movielens.md).
//
// The weight is relative so that one setting means the same on any data:
// c^2 = relative_weight x rms(X Q_a Q_a^T) / rms(X Q_b Q_b^T), the root mean
// square of each part's scores over every (customer, product) pair of
// `matrix`, held pairs included: a normaliser that costs no pass over the
// scores, not the spread of the scores that get ranked. relative_weight 1
// gives both parts the same root mean square.
//
// `first` and `second` are factor models of `matrix` (only their product
// factors and singular values are read). The result's product factors are
// [Q_a, c Q_b], its customer factors matrix x that, and its singular
// values first's followed by second's times c^2 (the format's "importance
// of each factor"; nothing reads them for scoring).
// `first_rms`, when not negative (nor NaN), must be RmsScore(matrix,
// first.product_factors): a caller blending one first part with many
// second parts computes it once.
// Errors: INVALID_ARGUMENT for a relative_weight that is not positive and
// finite, product counts that differ from matrix's, singular value counts
// that differ from factor counts, or a part whose scores are all zero (no
// scale to match).
absl::StatusOr<TruncatedSvd> BlendFactors(const HoldingsMatrix& matrix, const TruncatedSvd& first,
                                          const TruncatedSvd& second, double relative_weight,
                                          double first_rms = -1);

// The root mean square of matrix x product_factors x product_factors^T over
// every entry, computed without forming it: with A = matrix x Q,
// ||A Q^T||_F^2 = sum of (A^T A) .* (Q^T Q). O(customers x rank^2).
double RmsScore(const HoldingsMatrix& matrix, const RowMajorMatrix& product_factors);

}  // namespace easymoney

#endif  // EASYMONEY_CORE_TRAINING_BLEND_H_
