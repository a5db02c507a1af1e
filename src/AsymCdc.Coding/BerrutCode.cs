using System.Numerics.Tensors;

namespace AsymCdc.Coding;

/// <summary>
/// The systematic Berrut code of ApproxIFER (Soleymani et al.), docs/ARCHITECTURE.md: k+1 Chebyshev
/// nodes z_j = cos(jπ/k), j = 0..k; the parity sits at node p = ⌊k/2⌋ and the k data members at the
/// other nodes in order. Berrut's rational interpolant r(z) = Σ_j w_j/(z−z_j)·f_j / Σ_j w_j/(z−z_j),
/// with weights w_j = (−1)^j alternating over the participating nodes in node order, has no poles on
/// the real line for any node set, which is why ApproxIFER uses it instead of a polynomial.
/// Both the encoder and the decoder are fixed linear combinations, so the coefficients are computed
/// once per k and the hot path is a few multiply-adds.
/// </summary>
public sealed class BerrutCode
{
    private const int CachedCodes = 32;
    private static readonly BerrutCode?[] Cache = new BerrutCode?[CachedCodes + 1];

    private readonly double[] _nodes;
    private readonly float[] _parityCoefficients;
    private readonly float[][] _decodeCoefficients;

    /// <summary>Builds the code for <paramref name="k"/> data members.</summary>
    public BerrutCode(int k)
    {
        if (k < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, "A Berrut code needs at least one data member; k must be >= 1.");
        }

        K = k;
        ParityNode = k / 2;
        _nodes = new double[k + 1];
        for (var j = 0; j <= k; j++)
        {
            _nodes[j] = Math.Cos(j * Math.PI / k);
        }

        // Encoder: u(z_p) over the k data nodes.
        var dataNodes = new double[k];
        for (var i = 0; i < k; i++)
        {
            dataNodes[i] = _nodes[DataNode(i)];
        }

        _parityCoefficients = ToSingle(BarycentricCoefficients(dataNodes, _nodes[ParityNode]));

        // Decoder: r(z_m) over the k available nodes (all but the missing member's), answers ordered
        // as the decoder receives them: data members in group order, then the parity.
        _decodeCoefficients = new float[k][];
        for (var missing = 0; missing < k; missing++)
        {
            var available = new double[k];
            var answerPosition = new int[k];
            var n = 0;
            for (var j = 0; j <= k; j++)
            {
                if (j == DataNode(missing))
                {
                    continue;
                }

                available[n] = _nodes[j];
                answerPosition[n] = j == ParityNode ? k - 1 : DataIndex(j) - (DataIndex(j) > missing ? 1 : 0);
                n++;
            }

            var byNode = BarycentricCoefficients(available, _nodes[DataNode(missing)]);
            var byAnswer = new float[k];
            for (var r = 0; r < k; r++)
            {
                byAnswer[answerPosition[r]] = (float)byNode[r];
            }

            _decodeCoefficients[missing] = byAnswer;
        }
    }

    /// <summary>Data members the code spans.</summary>
    public int K { get; }

    /// <summary>Index p = ⌊k/2⌋ of the parity's node.</summary>
    public int ParityNode { get; }

    /// <summary>The k+1 node positions z_j = cos(jπ/k).</summary>
    public ReadOnlySpan<double> Nodes => _nodes;

    /// <summary>u(z_p) = Σ_i c_i·X_i: the parity input's coefficients over the k data members in group order.</summary>
    public ReadOnlySpan<float> ParityCoefficients => _parityCoefficients;

    /// <summary>The shared code for <paramref name="k"/> data members.</summary>
    public static BerrutCode For(int k)
    {
        if (k is < 1 or > CachedCodes)
        {
            return new BerrutCode(k);
        }

        return Cache[k] ??= new BerrutCode(k);
    }

    /// <summary>The node index of data member <paramref name="member"/> (the data members skip the parity's node).</summary>
    public int DataNode(int member)
    {
        if ((uint)member >= (uint)K)
        {
            throw new ArgumentOutOfRangeException(nameof(member), member, $"A Berrut code over k = {K} has data members 0..{K - 1}.");
        }

        return member < ParityNode ? member : member + 1;
    }

    /// <summary>r(z_m) = Σ c_r·Y_r: the coefficients that interpolate the missing member's output from the
    /// k available answers, ordered as data members in group order (skipping <paramref name="missing"/>), then the parity.</summary>
    public ReadOnlySpan<float> DecodeCoefficients(int missing)
    {
        if ((uint)missing >= (uint)K)
        {
            throw new ArgumentOutOfRangeException(nameof(missing), missing, $"The missing member must be in 0..{K - 1} for a group of k = {K}.");
        }

        return _decodeCoefficients[missing];
    }

    /// <summary>Writes the parity input u(z_p) = Σ_i c_i·X_i of the k members laid out back to back.</summary>
    public void Encode(ReadOnlySpan<float> members, int length, Span<float> parity)
    {
        EncoderArguments.Validate(members, K, length, parity);
        parity.Clear();
        for (var i = 0; i < K; i++)
        {
            TensorPrimitives.MultiplyAdd(members.Slice(i * length, length), _parityCoefficients[i], parity, parity);
        }
    }

    /// <summary>
    /// Berrut's interpolant through (<paramref name="nodes"/>, <paramref name="values"/>) evaluated at
    /// <paramref name="z"/>; the nodes must be strictly monotone (weights alternate in node order).
    /// At a node it returns that node's value: the interpolant interpolates.
    /// </summary>
    public static double Interpolate(ReadOnlySpan<double> nodes, ReadOnlySpan<double> values, double z)
    {
        if (nodes.Length == 0 || nodes.Length != values.Length)
        {
            throw new ArgumentException($"Interpolation needs one value per node and at least one node; got {nodes.Length} nodes and {values.Length} values.", nameof(values));
        }

        for (var j = 0; j < nodes.Length; j++)
        {
            if (nodes[j] == z)
            {
                return values[j];
            }
        }

        var coefficients = BarycentricCoefficients(nodes, z);
        var sum = 0.0;
        for (var j = 0; j < nodes.Length; j++)
        {
            sum += coefficients[j] * values[j];
        }

        return sum;
    }

    // r(z) = Σ_j c_j f_j with c_j = (w_j/(z−z_j)) / Σ_s w_s/(z−z_s), w_j = (−1)^j; z is not a node.
    private static double[] BarycentricCoefficients(ReadOnlySpan<double> nodes, double z)
    {
        var descending = nodes.Length > 1 && nodes[1] < nodes[0];
        for (var j = 1; j < nodes.Length; j++)
        {
            if (descending ? !(nodes[j] < nodes[j - 1]) : !(nodes[j] > nodes[j - 1]))
            {
                throw new ArgumentException("Berrut interpolation needs distinct, strictly monotone nodes.", nameof(nodes));
            }
        }

        var coefficients = new double[nodes.Length];
        var denominator = 0.0;
        for (var j = 0; j < nodes.Length; j++)
        {
            var term = ((j & 1) == 0 ? 1.0 : -1.0) / (z - nodes[j]);
            coefficients[j] = term;
            denominator += term;
        }

        for (var j = 0; j < nodes.Length; j++)
        {
            coefficients[j] /= denominator;
        }

        return coefficients;
    }

    private int DataIndex(int node) => node < ParityNode ? node : node - 1;

    private static float[] ToSingle(double[] values)
    {
        var result = new float[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            result[i] = (float)values[i];
        }

        return result;
    }
}
