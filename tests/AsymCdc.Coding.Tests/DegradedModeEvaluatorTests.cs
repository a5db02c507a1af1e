using System.Numerics.Tensors;
using System.Text.Json;
using AsymCdc.Coding.Evaluation;

namespace AsymCdc.Coding.Tests;

public sealed class DegradedModeEvaluatorTests
{
    private const int Length = 16;

    [Fact]
    public async Task Exact_decoder_agrees_with_the_model_on_every_query()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var (images, labels) = TestSet(classifier, 60);
        var exact = new ExactDecoder(classifier, new ToyInverse(Length));
        var evaluator = new DegradedModeEvaluator(classifier);

        var report = await evaluator.EvaluateAsync(images, labels, [new(exact, 2), new(exact, 3), new(exact, 4)]);

        Assert.Equal("toy-inn", report.Model);
        Assert.Equal(60, report.TestQueries);
        Assert.Equal(OwnAccuracy(classifier, images, labels, 60), report.Accuracy, 12);
        Assert.Equal([2, 3, 4], report.Results.Select(r => r.K));
        Assert.All(report.Results, r =>
        {
            Assert.Equal("exact", r.Decoder);
            Assert.Equal(1.0, r.Agreement);
            Assert.Equal(report.Accuracy, r.DegradedAccuracy, 12);
            Assert.True(r.DecodeMillisecondsMedian >= 0 && r.DecodeMillisecondsP99 >= r.DecodeMillisecondsMedian);
        });
        Assert.True(report.EncodeMicrosecondsMedian >= 0);
    }

    [Fact]
    public async Task Parm_and_approxifer_are_exact_for_a_linear_model_where_the_algebra_says_so()
    {
        // f linear: f_P = f gives f_P(ΣX) = Σ f(X_i), and the k = 2 Berrut code is the exact mean code.
        var classifier = new ToyInvertibleClassifier(Length, linear: true);
        var (images, labels) = TestSet(classifier, 40);
        var evaluator = new DegradedModeEvaluator(classifier);

        var report = await evaluator.EvaluateAsync(images, labels,
        [
            new(new ParmDecoder(), 2, new LinearParityModel(classifier)),
            new(new ParmDecoder(), 4, new LinearParityModel(classifier)),
            new(new ApproxIferDecoder(), 2),
        ]);

        Assert.Equal(["parm", "parm", "approxifer"], report.Results.Select(r => r.Decoder));
        Assert.All(report.Results, r => Assert.Equal(1.0, r.Agreement));
    }

    [Fact]
    public async Task A_poor_decoder_scores_exactly_what_its_answers_deserve()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var (images, labels) = TestSet(classifier, 61);
        var evaluator = new DegradedModeEvaluator(classifier);

        var report = await evaluator.EvaluateAsync(images, labels, [new(new ConstantDecoder(answer: 3), 2)]);

        // 30 full groups of 2: the 61st image is a partial group and is not reconstructed.
        var predicted = Predictions(classifier, images, 60);
        var result = Assert.Single(report.Results);
        Assert.Equal(61, report.TestQueries);
        Assert.Equal(predicted.Count(p => p == 3) / 60.0, result.Agreement, 12);
        Assert.Equal(labels.Take(60).Count(l => l == 3) / 60.0, result.DegradedAccuracy, 12);
    }

    [Fact]
    public async Task Model_calls_are_batched_up_to_the_batch_limit()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var inverse = new ToyInverse(Length);
        var (images, labels) = TestSet(classifier, 600);
        var evaluator = new DegradedModeEvaluator(classifier, new DegradedModeEvaluatorOptions { MaxBatchItems = 256, DecodeTimingSamples = 5 });

        await evaluator.EvaluateAsync(images, labels, [new(new ExactDecoder(classifier, inverse), 3)]);

        // Own answers: 600 images in three calls; parities: 200 in one; the batched decode
        // inverts 85 requests × 3 z's = 255 per call; then 5 unbatched timing decodes of 3 z's.
        Assert.Equal([256, 256, 88, 200], classifier.Calls.Take(4));
        Assert.All(inverse.Calls, c => Assert.InRange(c, 1, 256));
        Assert.Equal(600 * 3 + 5 * 3, inverse.Calls.Sum());
        Assert.Equal(600 / 85 + 1 + 5, inverse.Calls.Count);
    }

    [Fact]
    public async Task Exact_and_compact_at_the_same_k_share_one_served_parity_per_group()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var (images, labels) = TestSet(classifier, 40);
        var evaluator = new DegradedModeEvaluator(classifier, new DegradedModeEvaluatorOptions { DecodeTimingSamples = 1 });
        var compact = new CompactDecoder(k => new EchoCompact(k, Length));

        await evaluator.EvaluateAsync(images, labels, [new(new ExactDecoder(classifier, new ToyInverse(Length)), 2), new(compact, 2)]);

        // 40 own answers, 20 parities (once), the exact decoder's batched forward of 40 reconstructions
        // and its one timed decode; the compact case serves no second parity.
        Assert.Equal([40, 20, 40, 1], classifier.Calls);
    }

    [Fact]
    public async Task The_report_serialises_to_the_documented_schema()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var (images, labels) = TestSet(classifier, 20);
        var report = await new DegradedModeEvaluator(classifier).EvaluateAsync(images, labels, [new(new ApproxIferDecoder(), 2)]);

        using var json = JsonDocument.Parse(JsonSerializer.Serialize(report, DegradedModeJsonContext.Default.DegradedModeReport));

        Assert.Equal(["model", "test_queries", "accuracy", "encode_us_median", "results"], json.RootElement.EnumerateObject().Select(p => p.Name));
        var result = json.RootElement.GetProperty("results")[0];
        Assert.Equal(["decoder", "k", "degraded_accuracy", "agreement", "decode_ms_median", "decode_ms_p99"], result.EnumerateObject().Select(p => p.Name));
        Assert.Equal("approxifer", result.GetProperty("decoder").GetString());
        Assert.Equal(2, result.GetProperty("k").GetInt32());
    }

    [Fact]
    public async Task Parm_without_its_parity_model_is_rejected_by_name()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var (images, labels) = TestSet(classifier, 8);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => new DegradedModeEvaluator(classifier).EvaluateAsync(images, labels, [new(new ParmDecoder(), 4)]));

        Assert.Contains("fmnist-parm-k4", error.Message);
    }

    [Fact]
    public async Task A_parity_model_for_a_decoder_that_serves_parities_with_the_classifier_is_rejected()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var (images, labels) = TestSet(classifier, 8);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => new DegradedModeEvaluator(classifier).EvaluateAsync(images, labels, [new(new ApproxIferDecoder(), 2, new LinearParityModel(classifier))]));

        Assert.Contains("only ParM", error.Message);
    }

    [Fact]
    public async Task Images_that_do_not_match_the_labels_are_rejected_with_the_arithmetic()
    {
        var classifier = new ToyInvertibleClassifier(Length);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => new DegradedModeEvaluator(classifier).EvaluateAsync(new float[3 * Length], new byte[4], []));

        Assert.Contains($"4 labels × {Length} floats per image = {4 * Length}", error.Message);
    }

    [Fact]
    public async Task A_k_larger_than_the_test_set_is_rejected()
    {
        var classifier = new ToyInvertibleClassifier(Length);
        var (images, labels) = TestSet(classifier, 3);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => new DegradedModeEvaluator(classifier).EvaluateAsync(images, labels, [new(new ApproxIferDecoder(), 4)]));

        Assert.Contains("k must be between 1 and the 3 test queries", error.Message);
    }

    [Fact]
    public void Percentile_is_nearest_rank()
    {
        double[] values = [5, 1, 4, 2, 3];

        Assert.Equal(3, DegradedModeEvaluator.Percentile(values, 0.5));
        Assert.Equal(5, DegradedModeEvaluator.Percentile(values, 0.99));
        Assert.Equal(1, DegradedModeEvaluator.Percentile(values, 0.0));
    }

    /// <summary>Random images; labels are the model's answer for two thirds and a wrong class for the rest,
    /// so accuracy is neither 0 nor 1 and the decoders' scores are distinguishable.</summary>
    private static (float[] Images, byte[] Labels) TestSet(ToyInvertibleClassifier classifier, int count)
    {
        var random = new Random(count);
        var images = new float[count * Length];
        for (var i = 0; i < images.Length; i++)
        {
            images[i] = (float)random.NextDouble();
        }

        var predicted = Predictions(classifier, images, count);
        var labels = new byte[count];
        for (var n = 0; n < count; n++)
        {
            labels[n] = (byte)(n % 3 == 0 ? (predicted[n] + 1) % classifier.Classes : predicted[n]);
        }

        return (images, labels);
    }

    private static int[] Predictions(ToyInvertibleClassifier classifier, float[] images, int count)
        => Enumerable.Range(0, count).Select(n => TensorPrimitives.IndexOfMax(classifier.Logits(images.AsSpan(n * Length, Length)))).ToArray();

    private static double OwnAccuracy(ToyInvertibleClassifier classifier, float[] images, byte[] labels, int count)
        => Predictions(classifier, images, count).Where((p, n) => p == labels[n]).Count() / (double)count;

    private sealed class ConstantDecoder(int answer) : IDecoder
    {
        public DecoderKind Kind => DecoderKind.Compact;

        public ValueTask<float[]> DecodeAsync(DecodeRequest request, CancellationToken cancellationToken = default)
        {
            var logits = new float[10];
            logits[answer] = 1;
            return ValueTask.FromResult(logits);
        }
    }
}
