using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AsymCdc.Coding.Tests;

[Properties(Arbitrary = [typeof(CodingArbitraries)])]
public sealed class BerrutCodeTests
{
    [Fact]
    public void Nodes_are_chebyshev_points_with_the_parity_in_the_middle()
    {
        var code = BerrutCode.For(4);

        Assert.Equal(5, code.Nodes.Length);
        for (var j = 0; j <= 4; j++)
        {
            Assert.Equal(Math.Cos(j * Math.PI / 4), code.Nodes[j], 12);
        }

        Assert.Equal(2, code.ParityNode);
        Assert.Equal([0, 1, 3, 4], Enumerable.Range(0, 4).Select(code.DataNode));
    }

    [Fact]
    public void For_k_2_the_parity_is_the_mean_and_decoding_is_two_parities_minus_the_other()
    {
        // Nodes 1, 0, −1; the parity at z = 0 between the members at ±1. u(0) = (X_0 + X_1)/2 and
        // r(±1) = 2·Y_p − Y_other: the ApproxIFER code at k = 2 is the AsymCDC mean code.
        var code = BerrutCode.For(2);

        Assert.Equal([0.5f, 0.5f], code.ParityCoefficients.ToArray());
        Assert.Equal([-1f, 2f], code.DecodeCoefficients(0).ToArray()); // [Y_1, Y_p]
        Assert.Equal([-1f, 2f], code.DecodeCoefficients(1).ToArray()); // [Y_0, Y_p]

        float[] members = [2, 4, /**/ 6, 10];
        var parity = new float[2];
        BerrutEncoder.Encode(members, 2, 2, parity);
        Assert.Equal([4f, 7f], parity);
    }

    [Fact]
    public void For_k_3_the_parity_coefficients_are_the_hand_worked_barycentric_weights()
    {
        // Data nodes 1, −1/2, −1 with weights +1, −1, +1 evaluated at the parity node z = 1/2:
        // terms 1/(1/2−1) = −2, −1/(1/2+1/2) = −1, 1/(1/2+1) = 2/3; their sum is −7/3.
        var code = BerrutCode.For(3);

        Assert.Equal(6f / 7f, code.ParityCoefficients[0], 6);
        Assert.Equal(3f / 7f, code.ParityCoefficients[1], 6);
        Assert.Equal(-2f / 7f, code.ParityCoefficients[2], 6);
    }

    [Property]
    public bool Encoder_and_decoder_coefficients_sum_to_one_so_constants_are_reproduced(PositiveInt kRaw)
    {
        var code = BerrutCode.For(kRaw.Get % 16 + 1);
        var ok = Math.Abs(Sum(code.ParityCoefficients) - 1) < 1e-5;
        for (var m = 0; m < code.K; m++)
        {
            ok &= Math.Abs(Sum(code.DecodeCoefficients(m)) - 1) < 1e-5;
        }

        return ok;
    }

    [Property]
    public bool Encoding_identical_members_gives_the_member(Group group)
    {
        var members = new float[group.K * group.Length];
        for (var i = 0; i < group.K; i++)
        {
            group.Member(0).CopyTo(members.AsSpan(i * group.Length));
        }

        var parity = new float[group.Length];
        BerrutEncoder.Encode(members, group.K, group.Length, parity);
        return EncoderTests.Close(parity, group.Member(0), 1e-4f);
    }

    [Property]
    public Property Interpolation_reproduces_the_value_at_every_node()
    {
        var gen = from n in Gen.Choose(1, 10)
                  from values in Gen.ArrayOf(Gen.Choose(-1000, 1000).Select(v => v / 10.0), n)
                  from at in Gen.Choose(0, n - 1)
                  select (n, values, at);
        return Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var nodes = BerrutCode.For(t.n).Nodes[..t.n];
            return BerrutCode.Interpolate(nodes, t.values, nodes[t.at]) == t.values[t.at];
        });
    }

    [Property]
    public bool Two_node_interpolation_reproduces_linear_functions(float slope, float intercept, float at)
    {
        // With two nodes Berrut's interpolant is the line through them; with more it reproduces only
        // constants (it is Floater–Hormann with d = 0), which is why ApproxIFER is approximate for k > 2.
        double[] nodes = [0.75, -0.5];
        double[] values = [slope * 0.75 + intercept, slope * -0.5 + intercept];
        var expected = slope * (double)at + intercept;
        return Math.Abs(BerrutCode.Interpolate(nodes, values, at) - expected) < 1e-9 * Math.Max(1, Math.Abs(expected)) + 1e-9;
    }

    [Property]
    public bool Decoding_a_linear_model_at_k_2_recovers_the_missing_output(Group group, PositiveInt missingRaw)
    {
        // f = identity: the parity's output is u(z_p) itself, and r(z_m) must give back the member.
        var members = new float[2 * group.Length];
        group.Member(0).CopyTo(members);
        group.Member(group.K - 1).CopyTo(members.AsSpan(group.Length));
        members.AsSpan(group.Length).Reverse();
        var missing = missingRaw.Get % 2;
        var parity = new float[group.Length];
        BerrutEncoder.Encode(members, 2, group.Length, parity);
        var coefficients = BerrutCode.For(2).DecodeCoefficients(missing);
        var other = members.AsSpan((1 - missing) * group.Length, group.Length);
        var decoded = new float[group.Length];
        for (var i = 0; i < decoded.Length; i++)
        {
            decoded[i] = coefficients[0] * other[i] + coefficients[1] * parity[i];
        }

        return EncoderTests.Close(decoded, members.AsSpan(missing * group.Length, group.Length), 1e-3f);
    }

    [Property]
    public Property Decode_coefficients_are_the_interpolant_at_the_missing_node()
    {
        // Ties the precomputed coefficients (answers in decoder order: data in group order, then the
        // parity) to the interpolant over the available nodes in node order.
        var gen = from k in Gen.Choose(1, 8)
                  from missing in Gen.Choose(0, k - 1)
                  from values in Gen.ArrayOf(Gen.Choose(-1000, 1000).Select(v => v / 10.0), k)
                  select (k, missing, values);
        return Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var code = BerrutCode.For(t.k);
            var answers = t.values; // answers[0..k-2] data in group order, answers[k-1] parity
            var nodes = new List<double>();
            var nodeValues = new List<double>();
            var dataPosition = 0;
            for (var j = 0; j <= t.k; j++)
            {
                if (j == code.ParityNode)
                {
                    nodes.Add(code.Nodes[j]);
                    nodeValues.Add(answers[t.k - 1]);
                    continue;
                }

                var member = j < code.ParityNode ? j : j - 1;
                if (member != t.missing)
                {
                    nodes.Add(code.Nodes[j]);
                    nodeValues.Add(answers[dataPosition++]);
                }
            }

            var expected = BerrutCode.Interpolate(nodes.ToArray(), nodeValues.ToArray(), code.Nodes[code.DataNode(t.missing)]);
            var coefficients = code.DecodeCoefficients(t.missing);
            var actual = 0.0;
            for (var r = 0; r < t.k; r++)
            {
                actual += coefficients[r] * answers[r];
            }

            return Math.Abs(actual - expected) < 1e-3 * Math.Max(1, Math.Abs(expected));
        });
    }

    [Fact]
    public void Interpolation_rejects_nodes_that_are_not_monotone()
    {
        var error = Assert.Throws<ArgumentException>(() => BerrutCode.Interpolate([0.0, 1.0, 0.5], [1.0, 2.0, 3.0], 0.25));
        Assert.Contains("monotone", error.Message);
    }

    [Fact]
    public void A_code_needs_at_least_one_member()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new BerrutCode(0));
        Assert.Contains(">= 1", error.Message);
    }

    [Fact]
    public void A_missing_member_outside_the_group_is_rejected()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => BerrutCode.For(3).DecodeCoefficients(3));
        Assert.Contains("0..2", error.Message);
    }

    private static double Sum(ReadOnlySpan<float> values)
    {
        var sum = 0.0;
        foreach (var v in values)
        {
            sum += v;
        }

        return sum;
    }
}
