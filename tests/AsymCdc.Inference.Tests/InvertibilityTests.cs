namespace AsymCdc.Inference.Tests;

/// <summary>The properties the exact decoder relies on, checked through ONNX Runtime on real test images.</summary>
[Collection(RepositoryCollection.Name)]
public sealed class InvertibilityTests(RepositoryFixture fixture)
{
    private const int Length = 784;

    [Fact]
    public async Task Inverse_of_forward_returns_the_input()
    {
        const int count = 256;
        var images = TestModels.Images.Slice(0, count);

        var forward = await fixture.Repository.Get(ModelNames.Classifier).RunAsync(images, count);
        var back = await fixture.Repository.Get(ModelNames.Inverse).RunAsync(forward[1], count);

        var worst = MaxAbsDifference(images.Span, back[0]);
        Assert.True(worst <= 1e-4f, $"inverse(forward(x)) differs from x by {worst}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Exact_reconstruction_agrees_with_the_models_own_answer(int k)
    {
        const int groups = 100;
        var classifier = fixture.Repository.Get(ModelNames.Classifier);
        var inverse = fixture.Repository.Get(ModelNames.Inverse);
        var data = TestModels.Images.Slice(1000, groups * k); // groups of k consecutive test images

        // Encoder: X_p = (1/k) Σ X_i.
        var parity = new float[groups * Length];
        for (var g = 0; g < groups; g++)
        {
            var xp = parity.AsSpan(g * Length, Length);
            for (var i = 0; i < k; i++)
            {
                var xi = data.Span.Slice(((g * k) + i) * Length, Length);
                for (var p = 0; p < Length; p++)
                {
                    xp[p] += xi[p] / k;
                }
            }
        }

        // Workers: every data and parity query runs the deployed model; keep logits and z.
        var own = await TestModels.RunAllAsync(classifier, data, groups * k);
        var parityOut = await classifier.RunAsync(parity, groups);

        // Decoder: invert the z's back to inputs...
        var dataBack = (await TestModels.RunAllAsync(inverse, own[1], groups * k))[0];
        var parityBack = (await inverse.RunAsync(parityOut[1], groups))[0];

        // ...recover each member in turn as if it were the straggler: X_i = k·X_p − Σ_{j≠i} X_j...
        var rebuilt = new float[groups * k * Length];
        for (var g = 0; g < groups; g++)
        {
            for (var missing = 0; missing < k; missing++)
            {
                var xi = rebuilt.AsSpan(((g * k) + missing) * Length, Length);
                var xp = parityBack.AsSpan(g * Length, Length);
                for (var p = 0; p < Length; p++)
                {
                    xi[p] = k * xp[p];
                }

                for (var j = 0; j < k; j++)
                {
                    if (j == missing)
                    {
                        continue;
                    }

                    var xj = dataBack.AsSpan(((g * k) + j) * Length, Length);
                    for (var p = 0; p < Length; p++)
                    {
                        xi[p] -= xj[p];
                    }
                }
            }
        }

        // ...and run the forward pass on the recovered inputs.
        var decoded = (await TestModels.RunAllAsync(classifier, rebuilt, groups * k))[0];

        var agree = 0;
        for (var q = 0; q < groups * k; q++)
        {
            if (TestModels.ArgMax(decoded.AsSpan(q * 10, 10)) == TestModels.ArgMax(own[0].AsSpan(q * 10, 10)))
            {
                agree++;
            }
        }

        // The reconstruction is exact up to float error, so every answer should agree; allow one flip
        // for a query whose top two logits are within rounding of each other.
        Assert.True(agree >= (groups * k) - 1, $"k={k}: exact reconstruction agreed on {agree} of {groups * k} queries");
    }

    private static float MaxAbsDifference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        var worst = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        }

        return worst;
    }
}
