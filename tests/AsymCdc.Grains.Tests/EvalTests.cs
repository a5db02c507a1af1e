using AsymCdc.Cli;
using AsymCdc.Coding;
using AsymCdc.Coding.Evaluation;
using AsymCdc.Inference;

namespace AsymCdc.Grains.Tests;

public sealed class EvalTests
{
    [Fact]
    public async Task Cases_skip_parm_where_no_parity_model_can_exist_and_say_why()
    {
        using var models = await TestModels.OpenAsync();

        var (cases, skipped) = DegradedModeRun.Cases(models, models.FindServed("fmnist")!, [3], ["exact", "parm", "approxifer"]);

        Assert.Equal([DecoderKind.Exact, DecoderKind.ApproxIfer], cases.Select(c => c.Decoder.Kind));
        Assert.All(cases, c => Assert.Equal(3, c.K));
        var reason = Assert.Single(skipped);
        Assert.Contains("fmnist-inn: parm at k = 3", reason);
        Assert.Contains("(it has k = 2, 4)", reason);
    }

    [Fact]
    public async Task Cases_skip_a_compact_decoder_whose_model_is_missing_instead_of_falling_back()
    {
        using var models = await TestModels.OpenAsync();
        // A repository holding only the classifier and its inverse: every compact model is missing.
        var dir = Directory.CreateTempSubdirectory("asymcdc-eval-test");
        try
        {
            foreach (var name in new[] { ModelNames.Classifier, ModelNames.Inverse })
            {
                CopyDirectory(Path.Combine(models.Directory, name), Path.Combine(dir.FullName, name));
            }

            using var partial = ModelRepository.Open(new InferenceOptions { ModelRepository = dir.FullName });

            var (cases, skipped) = DegradedModeRun.Cases(partial, partial.FindServed("fmnist")!, [2], ["compact", "exact"]);

            Assert.Equal(DecoderKind.Exact, Assert.Single(cases).Decoder.Kind);
            Assert.Contains("fmnist-inn: compact at k = 2: no compact decoder for k = 2", Assert.Single(skipped));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Exact_decoder_cells_from_eval_agree_with_the_model_on_real_test_images()
    {
        using var models = await TestModels.OpenAsync();
        var (cases, _) = DegradedModeRun.Cases(models, models.FindServed("fmnist")!, [2, 4], ["exact", "approxifer"]);
        const int count = 40;

        var report = await new DegradedModeEvaluator(models.Get(ModelNames.Classifier), new DegradedModeEvaluatorOptions { DecodeTimingSamples = 2, EncodeTimingSamples = 10 })
            .EvaluateAsync(TestModels.Data.Slice(0, count), TestModels.Data.Labels.AsMemory(0, count), cases);

        Assert.Equal(4, report.Results.Count);
        // Exact decoding recomputes the missing query's own answer; only float error could flip an argmax.
        Assert.All(report.Results.Where(r => r.Decoder == "exact"), r => Assert.True(r.Agreement >= 0.95, $"exact k = {r.K}: agreement {r.Agreement}"));
    }

    [Fact]
    public async Task A_user_model_is_evaluated_on_its_own_data_with_the_decoders_it_has()
    {
        using var models = await TestModels.OpenAsync();
        var digits = models.FindServed("digits-mlp")!;
        var set = Inference.Data.TestSets.Load(digits.Dataset!, models.Directory);
        var (cases, skipped) = DegradedModeRun.Cases(models, digits, [2, 3], ["exact", "compact", "approxifer"]);

        Assert.Equal([(DecoderKind.Compact, 2), (DecoderKind.ApproxIfer, 2), (DecoderKind.ApproxIfer, 3)], cases.Select(c => (c.Decoder.Kind, c.K)));
        Assert.Equal(3, skipped.Count); // exact at k = 2 and 3 (no inverse), compact at k = 3
        var report = await DegradedModeRun.EvaluateAsync(models, digits, set, 100, cases,
            new DegradedModeEvaluatorOptions { DecodeTimingSamples = 2, EncodeTimingSamples = 10 }, null, CancellationToken.None);

        Assert.Equal("digits-mlp", report.Model);
        Assert.True(report.Accuracy >= 0.9, $"digits-mlp's own accuracy {report.Accuracy}");
        Assert.True(report.Results[0].DegradedAccuracy >= 0.8, $"its compact decoder's degraded accuracy {report.Results[0].DegradedAccuracy}");
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
