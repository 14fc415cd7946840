/**
 * Shapefile field names for the ledger's Chinese headers. A DBF field name holds at most 10 *bytes*
 * and a Chinese character is 3 bytes of UTF-8, so even 图斑编号 (12 bytes) does not fit: each column
 * gets the initials of its pinyin, the convention of China's land-survey data standards (TBBH 图斑编号,
 * DLBM 地类编码, XZQDM …). The README prints this table; GeoPackage and GeoJSON keep the Chinese names.
 * `width` is the most bytes a value may take (text longer than that is cut at a character boundary:
 * the full text is in the other formats); an export narrows text fields to its longest value.
 */
import type { DbfField } from '../../geo/vector/write-shapefile.js';
import type { LedgerColumn } from './ledger.js';

export interface LedgerShpField extends DbfField {
  column: LedgerColumn;
}

const C = (column: LedgerColumn, name: string, width: number): LedgerShpField => ({ column, name, type: 'C', width });
const N = (column: LedgerColumn, name: string, width: number, decimals = 0): LedgerShpField => ({ column, name, type: 'N', width, decimals });

/** Every ledger column, in ledger order (a test checks the two lists agree). */
export const LEDGER_SHP_FIELDS: readonly LedgerShpField[] = [
  N('序号', 'XH', 10),
  N('年度', 'ND', 4),
  C('月份/批次', 'YFPC', 7),
  C('下发时间', 'XFSJ', 10),
  C('图斑编号', 'TBBH', 64),
  C('往期图斑编号', 'WQTBBH', 64),
  C('市', 'SHI', 60),
  C('区县代码', 'QXDM', 12),
  C('区县', 'QXMC', 60),
  C('乡镇/街道', 'XZJD', 60),
  C('村', 'CJ', 60),
  N('中心点经度', 'ZXDJD', 12, 6),
  N('中心点纬度', 'ZXDWD', 12, 6),
  C('前时相', 'QSX', 10),
  C('后时相', 'HSX', 10),
  C('前时相地类', 'QSXDL', 10),
  C('图斑类型', 'TBLX', 80),
  C('变化类型', 'BHLX', 60),
  N('监测面积(亩)', 'JCMJ', 16, 2),
  N('监测面积(平方米)', 'JCMJPFM', 18, 1),
  N('耕地面积(亩)', 'GDMJ', 16, 2),
  N('永久基本农田面积(亩)', 'JBNTMJ', 16, 2),
  N('生态保护红线面积(亩)', 'STBHHXMJ', 16, 2),
  N('占城镇开发边界面积(亩)', 'CZKFBJMJ', 16, 2),
  C('是否涉及永久基本农田', 'SFYN', 3),
  C('是否涉及生态保护红线', 'SFHX', 3),
  N('置信度', 'ZXD', 5, 2),
  C('发现依据说明', 'FXYJSM', 254),
  C('主办单位', 'ZBDW', 60),
  C('协办单位', 'XBDW', 254),
  C('分派依据', 'FPYJ', 254),
  C('办理期限', 'BLQX', 10),
  C('优先级', 'YXJ', 10),
  C('优先级说明', 'YXJSM', 254),
  C('发现方式', 'FXFS', 30),
  C('检测模型', 'JCMX', 100),
  C('判定类型', 'PDLX', 10),
  C('违法类型', 'WFLX', 100),
  C('违法性质', 'WFXZ', 60),
  C('批准文号', 'PZWH', 100),
  C('其他情形', 'QTQX', 254),
  C('实际用途', 'SJYT', 200),
  C('当事人', 'DSR', 200),
  C('巡查首次发现时间', 'XCSCFXSJ', 10),
  C('是否发现不及时', 'SFFXBJS', 3),
  C('是否立案', 'SFLA', 3),
  C('不予立案说明', 'BYLASM', 254),
  C('立案时间', 'LASJ', 10),
  C('处罚决定时间', 'CFJDSJ', 10),
  N('罚没金额(元)', 'FMJE', 16, 2),
  C('整改方式', 'ZGFS', 30),
  C('整改期限', 'ZGQX', 10),
  N('拆除复耕面积(亩)', 'CCFGMJ', 16, 2),
  N('拆除复耕面积(平方米)', 'CCFGMJPFM', 18, 1),
  C('补办手续文号', 'BBSXPZWH', 100),
  N('补办手续面积(亩)', 'BBSXPZMJ', 16, 2),
  N('补办手续面积(平方米)', 'BBSXMJPFM', 18, 1),
  N('补办手续其中耕地面积(亩)', 'BBSXGDMJ', 16, 2),
  C('是否整改到位', 'SFZGDW', 3),
  C('是否处罚到位', 'SFCFDW', 3),
  C('是否申请法院强制执行', 'SFSQFYQZZX', 3),
  C('结案时间', 'JASJ', 10),
  C('销号状态', 'XHZT', 30),
  C('销号时间', 'XHSJ', 10),
  C('办理状态', 'BLZT', 30),
  C('是否逾期', 'SFYQ', 3),
  C('是否移送纪委监委', 'SFYSJW', 3),
  C('移送纪委监委时间', 'YSJWSJ', 10),
  C('移送纪委监委理由', 'YSJWLY', 254),
  C('是否移送公安', 'SFYSGA', 3),
  C('备注', 'BZ', 254),
];
