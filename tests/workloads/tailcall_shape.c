// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The shape of CPython 3.14's tail-calling interpreter (--with-tail-call-interp), for the unit
 * tests of user/cpython/tailcall.c (tests/unit/test_tailcall.c compiles it with clang, with and
 * without PIE, and strips copies): one function per opcode, _TAIL_CALL_<NAME>, each ending by
 * tail-calling the next one through a 256-entry table of function pointers,
 * instruction_funcptr_table, whose undefined opcodes (3.14: 121-127, 212-233) all point at
 * _TAIL_CALL_UNKNOWN_OPCODE; RESUME_CHECK jumps to RESUME's function when it deoptimises
 * (JUMP_TO_PREDICTED); the exported _PyEval_EvalFrameDefault only calls the first function.
 * Not CPython: a program with its layout. It runs: `tailcall_shape` prints 42. */
#include <stdio.h>

struct frame {
	long version;
};

#define ARGS struct frame *f, const unsigned char *ip, long acc
typedef long (*tc_fn)(ARGS);
static const tc_fn instruction_funcptr_table[256];

#define DISPATCH() __attribute__((musttail)) return instruction_funcptr_table[*ip](f, ip + 1, acc)
#define OP(n) \
	static long _TAIL_CALL_OP_##n(ARGS) \
	{ \
		acc = acc * 31 + n; \
		DISPATCH(); \
	}

static long _TAIL_CALL_UNKNOWN_OPCODE(ARGS)
{
	return -1;
}

/* big in CPython (instrumentation, eval breaker): not inlined into RESUME_CHECK */
static __attribute__((noinline)) long _TAIL_CALL_RESUME(ARGS)
{
	f->version++;
	DISPATCH();
}

static long _TAIL_CALL_RESUME_CHECK(ARGS)
{
	if (f->version != 1) /* deoptimise: the generic form, same instruction */
		__attribute__((musttail)) return _TAIL_CALL_RESUME(f, ip - 1, acc);
	DISPATCH();
}

static long _TAIL_CALL_RETURN_VALUE(ARGS)
{
	return acc;
}

OP(0)
OP(1)
OP(2)
OP(3)
OP(4)
OP(5)
OP(6)
OP(7)
OP(8)
OP(9)
OP(10)
OP(11)
OP(12)
OP(13)
OP(14)
OP(15)
OP(16)
OP(17)
OP(18)
OP(19)
OP(20)
OP(21)
OP(22)
OP(23)
OP(24)
OP(25)
OP(26)
OP(27)
OP(28)
OP(29)
OP(30)
OP(31)
OP(32)
OP(33)
OP(34)
OP(36)
OP(37)
OP(38)
OP(39)
OP(40)
OP(41)
OP(42)
OP(43)
OP(44)
OP(45)
OP(46)
OP(47)
OP(48)
OP(49)
OP(50)
OP(51)
OP(52)
OP(53)
OP(54)
OP(55)
OP(56)
OP(57)
OP(58)
OP(59)
OP(60)
OP(61)
OP(62)
OP(63)
OP(64)
OP(65)
OP(66)
OP(67)
OP(68)
OP(69)
OP(70)
OP(71)
OP(72)
OP(73)
OP(74)
OP(75)
OP(76)
OP(77)
OP(78)
OP(79)
OP(80)
OP(81)
OP(82)
OP(83)
OP(84)
OP(85)
OP(86)
OP(87)
OP(88)
OP(89)
OP(90)
OP(91)
OP(92)
OP(93)
OP(94)
OP(95)
OP(96)
OP(97)
OP(98)
OP(99)
OP(100)
OP(101)
OP(102)
OP(103)
OP(104)
OP(105)
OP(106)
OP(107)
OP(108)
OP(109)
OP(110)
OP(111)
OP(112)
OP(113)
OP(114)
OP(115)
OP(116)
OP(117)
OP(118)
OP(119)
OP(120)
OP(129)
OP(130)
OP(131)
OP(132)
OP(133)
OP(134)
OP(135)
OP(136)
OP(137)
OP(138)
OP(139)
OP(140)
OP(141)
OP(142)
OP(143)
OP(144)
OP(145)
OP(146)
OP(147)
OP(148)
OP(149)
OP(150)
OP(151)
OP(152)
OP(153)
OP(154)
OP(155)
OP(156)
OP(157)
OP(158)
OP(159)
OP(160)
OP(161)
OP(162)
OP(163)
OP(164)
OP(165)
OP(166)
OP(167)
OP(168)
OP(169)
OP(170)
OP(171)
OP(172)
OP(173)
OP(174)
OP(175)
OP(176)
OP(177)
OP(178)
OP(179)
OP(180)
OP(181)
OP(182)
OP(183)
OP(184)
OP(185)
OP(186)
OP(187)
OP(188)
OP(189)
OP(190)
OP(191)
OP(192)
OP(193)
OP(194)
OP(195)
OP(197)
OP(198)
OP(199)
OP(200)
OP(201)
OP(202)
OP(203)
OP(204)
OP(205)
OP(206)
OP(207)
OP(208)
OP(209)
OP(210)
OP(211)
OP(234)
OP(235)
OP(236)
OP(237)
OP(238)
OP(239)
OP(240)
OP(241)
OP(242)
OP(243)
OP(244)
OP(245)
OP(246)
OP(247)
OP(248)
OP(249)
OP(250)
OP(251)
OP(252)
OP(253)
OP(254)
OP(255)

static __attribute__((noinline)) long _TAIL_CALL_start_frame(ARGS)
{
	DISPATCH();
}

__attribute__((noinline)) long _PyEval_EvalFrameDefault(struct frame *f, const unsigned char *code)
{
	return _TAIL_CALL_start_frame(f, code, 0) + 1;
}

static const tc_fn instruction_funcptr_table[256] = {
	[0] = _TAIL_CALL_OP_0,
	[1] = _TAIL_CALL_OP_1,
	[2] = _TAIL_CALL_OP_2,
	[3] = _TAIL_CALL_OP_3,
	[4] = _TAIL_CALL_OP_4,
	[5] = _TAIL_CALL_OP_5,
	[6] = _TAIL_CALL_OP_6,
	[7] = _TAIL_CALL_OP_7,
	[8] = _TAIL_CALL_OP_8,
	[9] = _TAIL_CALL_OP_9,
	[10] = _TAIL_CALL_OP_10,
	[11] = _TAIL_CALL_OP_11,
	[12] = _TAIL_CALL_OP_12,
	[13] = _TAIL_CALL_OP_13,
	[14] = _TAIL_CALL_OP_14,
	[15] = _TAIL_CALL_OP_15,
	[16] = _TAIL_CALL_OP_16,
	[17] = _TAIL_CALL_OP_17,
	[18] = _TAIL_CALL_OP_18,
	[19] = _TAIL_CALL_OP_19,
	[20] = _TAIL_CALL_OP_20,
	[21] = _TAIL_CALL_OP_21,
	[22] = _TAIL_CALL_OP_22,
	[23] = _TAIL_CALL_OP_23,
	[24] = _TAIL_CALL_OP_24,
	[25] = _TAIL_CALL_OP_25,
	[26] = _TAIL_CALL_OP_26,
	[27] = _TAIL_CALL_OP_27,
	[28] = _TAIL_CALL_OP_28,
	[29] = _TAIL_CALL_OP_29,
	[30] = _TAIL_CALL_OP_30,
	[31] = _TAIL_CALL_OP_31,
	[32] = _TAIL_CALL_OP_32,
	[33] = _TAIL_CALL_OP_33,
	[34] = _TAIL_CALL_OP_34,
	[35] = _TAIL_CALL_RETURN_VALUE,
	[36] = _TAIL_CALL_OP_36,
	[37] = _TAIL_CALL_OP_37,
	[38] = _TAIL_CALL_OP_38,
	[39] = _TAIL_CALL_OP_39,
	[40] = _TAIL_CALL_OP_40,
	[41] = _TAIL_CALL_OP_41,
	[42] = _TAIL_CALL_OP_42,
	[43] = _TAIL_CALL_OP_43,
	[44] = _TAIL_CALL_OP_44,
	[45] = _TAIL_CALL_OP_45,
	[46] = _TAIL_CALL_OP_46,
	[47] = _TAIL_CALL_OP_47,
	[48] = _TAIL_CALL_OP_48,
	[49] = _TAIL_CALL_OP_49,
	[50] = _TAIL_CALL_OP_50,
	[51] = _TAIL_CALL_OP_51,
	[52] = _TAIL_CALL_OP_52,
	[53] = _TAIL_CALL_OP_53,
	[54] = _TAIL_CALL_OP_54,
	[55] = _TAIL_CALL_OP_55,
	[56] = _TAIL_CALL_OP_56,
	[57] = _TAIL_CALL_OP_57,
	[58] = _TAIL_CALL_OP_58,
	[59] = _TAIL_CALL_OP_59,
	[60] = _TAIL_CALL_OP_60,
	[61] = _TAIL_CALL_OP_61,
	[62] = _TAIL_CALL_OP_62,
	[63] = _TAIL_CALL_OP_63,
	[64] = _TAIL_CALL_OP_64,
	[65] = _TAIL_CALL_OP_65,
	[66] = _TAIL_CALL_OP_66,
	[67] = _TAIL_CALL_OP_67,
	[68] = _TAIL_CALL_OP_68,
	[69] = _TAIL_CALL_OP_69,
	[70] = _TAIL_CALL_OP_70,
	[71] = _TAIL_CALL_OP_71,
	[72] = _TAIL_CALL_OP_72,
	[73] = _TAIL_CALL_OP_73,
	[74] = _TAIL_CALL_OP_74,
	[75] = _TAIL_CALL_OP_75,
	[76] = _TAIL_CALL_OP_76,
	[77] = _TAIL_CALL_OP_77,
	[78] = _TAIL_CALL_OP_78,
	[79] = _TAIL_CALL_OP_79,
	[80] = _TAIL_CALL_OP_80,
	[81] = _TAIL_CALL_OP_81,
	[82] = _TAIL_CALL_OP_82,
	[83] = _TAIL_CALL_OP_83,
	[84] = _TAIL_CALL_OP_84,
	[85] = _TAIL_CALL_OP_85,
	[86] = _TAIL_CALL_OP_86,
	[87] = _TAIL_CALL_OP_87,
	[88] = _TAIL_CALL_OP_88,
	[89] = _TAIL_CALL_OP_89,
	[90] = _TAIL_CALL_OP_90,
	[91] = _TAIL_CALL_OP_91,
	[92] = _TAIL_CALL_OP_92,
	[93] = _TAIL_CALL_OP_93,
	[94] = _TAIL_CALL_OP_94,
	[95] = _TAIL_CALL_OP_95,
	[96] = _TAIL_CALL_OP_96,
	[97] = _TAIL_CALL_OP_97,
	[98] = _TAIL_CALL_OP_98,
	[99] = _TAIL_CALL_OP_99,
	[100] = _TAIL_CALL_OP_100,
	[101] = _TAIL_CALL_OP_101,
	[102] = _TAIL_CALL_OP_102,
	[103] = _TAIL_CALL_OP_103,
	[104] = _TAIL_CALL_OP_104,
	[105] = _TAIL_CALL_OP_105,
	[106] = _TAIL_CALL_OP_106,
	[107] = _TAIL_CALL_OP_107,
	[108] = _TAIL_CALL_OP_108,
	[109] = _TAIL_CALL_OP_109,
	[110] = _TAIL_CALL_OP_110,
	[111] = _TAIL_CALL_OP_111,
	[112] = _TAIL_CALL_OP_112,
	[113] = _TAIL_CALL_OP_113,
	[114] = _TAIL_CALL_OP_114,
	[115] = _TAIL_CALL_OP_115,
	[116] = _TAIL_CALL_OP_116,
	[117] = _TAIL_CALL_OP_117,
	[118] = _TAIL_CALL_OP_118,
	[119] = _TAIL_CALL_OP_119,
	[120] = _TAIL_CALL_OP_120,
	[121] = _TAIL_CALL_UNKNOWN_OPCODE,
	[122] = _TAIL_CALL_UNKNOWN_OPCODE,
	[123] = _TAIL_CALL_UNKNOWN_OPCODE,
	[124] = _TAIL_CALL_UNKNOWN_OPCODE,
	[125] = _TAIL_CALL_UNKNOWN_OPCODE,
	[126] = _TAIL_CALL_UNKNOWN_OPCODE,
	[127] = _TAIL_CALL_UNKNOWN_OPCODE,
	[128] = _TAIL_CALL_RESUME,
	[129] = _TAIL_CALL_OP_129,
	[130] = _TAIL_CALL_OP_130,
	[131] = _TAIL_CALL_OP_131,
	[132] = _TAIL_CALL_OP_132,
	[133] = _TAIL_CALL_OP_133,
	[134] = _TAIL_CALL_OP_134,
	[135] = _TAIL_CALL_OP_135,
	[136] = _TAIL_CALL_OP_136,
	[137] = _TAIL_CALL_OP_137,
	[138] = _TAIL_CALL_OP_138,
	[139] = _TAIL_CALL_OP_139,
	[140] = _TAIL_CALL_OP_140,
	[141] = _TAIL_CALL_OP_141,
	[142] = _TAIL_CALL_OP_142,
	[143] = _TAIL_CALL_OP_143,
	[144] = _TAIL_CALL_OP_144,
	[145] = _TAIL_CALL_OP_145,
	[146] = _TAIL_CALL_OP_146,
	[147] = _TAIL_CALL_OP_147,
	[148] = _TAIL_CALL_OP_148,
	[149] = _TAIL_CALL_OP_149,
	[150] = _TAIL_CALL_OP_150,
	[151] = _TAIL_CALL_OP_151,
	[152] = _TAIL_CALL_OP_152,
	[153] = _TAIL_CALL_OP_153,
	[154] = _TAIL_CALL_OP_154,
	[155] = _TAIL_CALL_OP_155,
	[156] = _TAIL_CALL_OP_156,
	[157] = _TAIL_CALL_OP_157,
	[158] = _TAIL_CALL_OP_158,
	[159] = _TAIL_CALL_OP_159,
	[160] = _TAIL_CALL_OP_160,
	[161] = _TAIL_CALL_OP_161,
	[162] = _TAIL_CALL_OP_162,
	[163] = _TAIL_CALL_OP_163,
	[164] = _TAIL_CALL_OP_164,
	[165] = _TAIL_CALL_OP_165,
	[166] = _TAIL_CALL_OP_166,
	[167] = _TAIL_CALL_OP_167,
	[168] = _TAIL_CALL_OP_168,
	[169] = _TAIL_CALL_OP_169,
	[170] = _TAIL_CALL_OP_170,
	[171] = _TAIL_CALL_OP_171,
	[172] = _TAIL_CALL_OP_172,
	[173] = _TAIL_CALL_OP_173,
	[174] = _TAIL_CALL_OP_174,
	[175] = _TAIL_CALL_OP_175,
	[176] = _TAIL_CALL_OP_176,
	[177] = _TAIL_CALL_OP_177,
	[178] = _TAIL_CALL_OP_178,
	[179] = _TAIL_CALL_OP_179,
	[180] = _TAIL_CALL_OP_180,
	[181] = _TAIL_CALL_OP_181,
	[182] = _TAIL_CALL_OP_182,
	[183] = _TAIL_CALL_OP_183,
	[184] = _TAIL_CALL_OP_184,
	[185] = _TAIL_CALL_OP_185,
	[186] = _TAIL_CALL_OP_186,
	[187] = _TAIL_CALL_OP_187,
	[188] = _TAIL_CALL_OP_188,
	[189] = _TAIL_CALL_OP_189,
	[190] = _TAIL_CALL_OP_190,
	[191] = _TAIL_CALL_OP_191,
	[192] = _TAIL_CALL_OP_192,
	[193] = _TAIL_CALL_OP_193,
	[194] = _TAIL_CALL_OP_194,
	[195] = _TAIL_CALL_OP_195,
	[196] = _TAIL_CALL_RESUME_CHECK,
	[197] = _TAIL_CALL_OP_197,
	[198] = _TAIL_CALL_OP_198,
	[199] = _TAIL_CALL_OP_199,
	[200] = _TAIL_CALL_OP_200,
	[201] = _TAIL_CALL_OP_201,
	[202] = _TAIL_CALL_OP_202,
	[203] = _TAIL_CALL_OP_203,
	[204] = _TAIL_CALL_OP_204,
	[205] = _TAIL_CALL_OP_205,
	[206] = _TAIL_CALL_OP_206,
	[207] = _TAIL_CALL_OP_207,
	[208] = _TAIL_CALL_OP_208,
	[209] = _TAIL_CALL_OP_209,
	[210] = _TAIL_CALL_OP_210,
	[211] = _TAIL_CALL_OP_211,
	[212] = _TAIL_CALL_UNKNOWN_OPCODE,
	[213] = _TAIL_CALL_UNKNOWN_OPCODE,
	[214] = _TAIL_CALL_UNKNOWN_OPCODE,
	[215] = _TAIL_CALL_UNKNOWN_OPCODE,
	[216] = _TAIL_CALL_UNKNOWN_OPCODE,
	[217] = _TAIL_CALL_UNKNOWN_OPCODE,
	[218] = _TAIL_CALL_UNKNOWN_OPCODE,
	[219] = _TAIL_CALL_UNKNOWN_OPCODE,
	[220] = _TAIL_CALL_UNKNOWN_OPCODE,
	[221] = _TAIL_CALL_UNKNOWN_OPCODE,
	[222] = _TAIL_CALL_UNKNOWN_OPCODE,
	[223] = _TAIL_CALL_UNKNOWN_OPCODE,
	[224] = _TAIL_CALL_UNKNOWN_OPCODE,
	[225] = _TAIL_CALL_UNKNOWN_OPCODE,
	[226] = _TAIL_CALL_UNKNOWN_OPCODE,
	[227] = _TAIL_CALL_UNKNOWN_OPCODE,
	[228] = _TAIL_CALL_UNKNOWN_OPCODE,
	[229] = _TAIL_CALL_UNKNOWN_OPCODE,
	[230] = _TAIL_CALL_UNKNOWN_OPCODE,
	[231] = _TAIL_CALL_UNKNOWN_OPCODE,
	[232] = _TAIL_CALL_UNKNOWN_OPCODE,
	[233] = _TAIL_CALL_UNKNOWN_OPCODE,
	[234] = _TAIL_CALL_OP_234,
	[235] = _TAIL_CALL_OP_235,
	[236] = _TAIL_CALL_OP_236,
	[237] = _TAIL_CALL_OP_237,
	[238] = _TAIL_CALL_OP_238,
	[239] = _TAIL_CALL_OP_239,
	[240] = _TAIL_CALL_OP_240,
	[241] = _TAIL_CALL_OP_241,
	[242] = _TAIL_CALL_OP_242,
	[243] = _TAIL_CALL_OP_243,
	[244] = _TAIL_CALL_OP_244,
	[245] = _TAIL_CALL_OP_245,
	[246] = _TAIL_CALL_OP_246,
	[247] = _TAIL_CALL_OP_247,
	[248] = _TAIL_CALL_OP_248,
	[249] = _TAIL_CALL_OP_249,
	[250] = _TAIL_CALL_OP_250,
	[251] = _TAIL_CALL_OP_251,
	[252] = _TAIL_CALL_OP_252,
	[253] = _TAIL_CALL_OP_253,
	[254] = _TAIL_CALL_OP_254,
	[255] = _TAIL_CALL_OP_255,
};

int main(void)
{
	static const unsigned char code[] = { 196, 128, 35 };
	struct frame f = { 0 };

	printf("%ld\n", _PyEval_EvalFrameDefault(&f, code) + 41);
	return 0;
}
